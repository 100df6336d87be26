"""Text output: verdicts, the roadmap list, the next item. Markup in rich's style, printed by
cli/term.py through click.style: colour in a terminal, plain when piped or NO_COLOR is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retreat.cli.term import Console, escape
from retreat.course import Course
from retreat.learner import journal, plan
from retreat.roadmap import Exercise, Quiz, Reading

if TYPE_CHECKING:  # `retreat next` and `list` never load the grading part
    from retreat.grading.verdict import Verdict

console = Console()

GLYPH = {"passed": "[green]✓[/]", "done": "[green]●[/]", "skipped": "[dim]↷[/]"}


def verdict(course: Course, v: Verdict, title: str) -> None:
    console.print(f"[bold]{escape(v.item_id)}[/] · {escape(title)}")
    seen: dict[str, str] = {}
    for t in v.tests:
        if t.outcome == "passed":
            console.print(f"  [green]✓[/] {escape(t.title)}")
            continue
        mark = "[red]✗[/]" if t.outcome in ("failed", "error") else "[yellow]·[/]"
        console.print(f"  {mark} {escape(t.title)}" + ("" if t.outcome in ("failed", "error")
                                                       else f" [dim]({t.outcome})[/]"))
        if t.message and t.message in seen:
            console.print(f"      [dim](same as '{escape(seen[t.message])}')[/]")
        elif t.message:
            seen[t.message] = t.title
            for line in t.message.splitlines()[:12]:
                console.print(f"      {escape(line)}")
    if v.problem:
        console.print(f"[red]✗ {escape(v.problem)}[/]")
        tail = v.output_tail.strip().splitlines()[-8:]
        if tail and v.problem_kind in ("crashed", "exited-early", "import-error"):
            console.print("[dim]  last output:[/]")
            for line in tail:
                console.print(f"[dim]    {escape(line[:200])}[/]")
    summary = f"{v.passed}/{v.total} checks passed in {v.duration:.1f} s"
    if v.ok:
        console.print(f"[bold green]✓ {escape(v.item_id)} passed[/]: {summary}. Next: [bold]retreat next[/]")
    else:
        console.print(f"[bold red]✗ not yet[/]: {summary}. "
                      f"Stuck? [bold]retreat hint {escape(v.item_id)}[/]")
    if v.unofficial:
        console.print(f"[yellow]! {escape(v.unofficial)}[/]")


def next_item(course: Course, view: plan.ItemView | None) -> None:
    if view is None:
        console.print("[bold green]Every item is finished.[/] Well done. 'retreat list' shows the whole roadmap.")
        return
    item = view.item
    meta = f"{item.kind} · {view.stage.title} · ~{item.minutes} min · {item.points} pts"
    console.print(f"[bold]Next:[/] [bold cyan]{escape(item.id)}[/] — {escape(item.title)}  [dim]({meta})[/]")
    if item.summary:
        console.print(f"  {escape(item.summary)}")
    if isinstance(item, Exercise):
        console.print(f"  Edit:    [bold]{escape(item.exercise)}[/]")
        if item.notes:
            console.print(f"  Notes:   docs/{escape(item.notes)}  [dim](or retreat docs serve)[/]")
        for res in item.resources[:3]:
            where = f" {res.url}" if res.url else ""
            note = f" ({res.note})" if res.note else ""
            console.print(f"  Read:    {escape(res.title)}{escape(note)}{escape(where)}")
        console.print(f"  Check:   [bold]retreat check[/]   [dim](grades {escape(item.id)}; "
                      f"retreat hint when stuck)[/]")
    elif isinstance(item, Reading):
        if item.url:
            console.print(f"  Open:    {escape(item.url)}")
        if item.book:
            console.print(f"  Book:    {escape(item.book)}")
        console.print(f"  Then:    [bold]retreat done {escape(item.id)}[/]   "
                      f"[dim](or retreat skip {escape(item.id)})[/]")
    elif isinstance(item, Quiz):
        if item.notes:
            console.print(f"  Notes:   docs/{escape(item.notes)}")
        console.print(f"  Take:    [bold]retreat quiz {escape(item.id)}[/]   "
                      f"[dim]({len(item.questions)} questions in the terminal)[/]")
    if item.id in journal.noted(course):
        console.print(f"  Journal: {escape(journal.display(course, journal.note_path(course, item.id)))}  "
                      f"[dim](yours: retreat note {escape(item.id)})[/]")


def reviews_due(due: list) -> None:
    """One line before the next item: the review due first, and how many more."""
    if due:
        more = f" [dim](and {len(due) - 1} more)[/]" if len(due) > 1 else ""
        console.print(f"[bold]Review due:[/] [bold cyan]{escape(due[0].item.id)}[/]{more} — "
                      f"[bold]retreat review[/] [dim](writes it again from a fresh stub; quizzes are retaken)[/]")


def roadmap_list(course: Course, views: list[plan.ItemView], summaries: list[plan.StageSummary],
                 nxt: plan.ItemView | None, due: frozenset[str] = frozenset()) -> None:
    # Built as one text and printed once: a hundred separate prints cost more than the rest of `list`.
    lines = [f"[bold]{escape(course.roadmap.course.title)}[/]"]
    by_stage: dict[str, list[plan.ItemView]] = {}
    for v in views:
        by_stage.setdefault(v.stage.id, []).append(v)
    total_points = 0
    noted = journal.noted(course)
    for s in summaries:
        width = 20
        filled = round(width * s.complete / s.total) if s.total else width
        bar = "[green]" + "█" * filled + "[/][dim]" + "░" * (width - filled) + "[/]"
        total_points += s.points
        lines.append(f"\n[bold]{escape(s.stage.title)}[/]  {bar} {s.complete}/{s.total}  "
                      f"[dim]{s.points}/{s.max_points} pts[/]")
        for v in by_stage.get(s.stage.id, []):
            status = v.state.status
            if status in GLYPH:
                glyph = GLYPH[status]
            elif v.locked:
                glyph = "[dim]🔒[/]"
            else:
                glyph = "[cyan]○[/]"
            kind = "" if isinstance(v.item, Exercise) else f" [dim]({v.item.kind})[/]"
            extra = ""
            if v.locked and not status:
                extra = f"  [dim]needs {escape(', '.join(v.locked_by))}[/]"
            elif v.state.attempts and status != "passed":
                extra = f"  [dim]{v.state.best_passed}/{v.state.best_total} checks, {v.state.attempts} tries[/]"
            opt = " [dim](optional)[/]" if v.item.optional else ""
            opt += " [dim](yours)[/]" if v.item.id in course.roadmap.added else ""
            opt += " [magenta]✎[/]" if v.item.id in noted else ""
            here = "  [bold yellow]← next[/]" if nxt is not None and nxt.item.id == v.item.id else ""
            here += "  [yellow]↻ review due[/]" if v.item.id in due else ""
            lines.append(f"  {glyph} {escape(v.item.id):28} {escape(v.item.title)}{kind}{opt}{extra}{here}")
    lines.append(f"\n[bold]{total_points}[/] points. 'retreat next' says what to do now.")
    if due:
        lines.append(f"[yellow]↻[/] {len(due)} due for review: 'retreat review' takes the first.")
    if noted:
        lines.append(f"[magenta]✎[/] {len(noted & {v.item.id for v in views})} items have your notes "
                      "(retreat note ID).")
    console.print("\n".join(lines))


def matches(found: list, query: str) -> None:
    """`retreat find`: each match with its id, file and the line that matched."""
    if not found:
        console.print(f"Nothing matches {escape(query)!r}. Try other words, or 'retreat list'.")
        return
    for n, m in enumerate(found, 1):
        where = f"{m.file}:{m.line}" if m.line else m.file
        what = {"item": "", "hints": "hints of ", "course notes": "notes: ", "journal": "your note: "}[m.kind]
        console.print(f"{n:2}. [bold cyan]{escape(m.item_id or '-'):24}[/] {what}{escape(m.title)}  "
                      f"[dim]{escape(where)}[/]")
        if m.snippet:
            console.print(f"    [dim]{escape(m.snippet)}[/]")
