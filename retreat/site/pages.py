"""Markdown for the pages that come from the roadmap: the roadmap itself, one overview per stage
and one page per item. Pure functions of the roadmap objects the CLI uses (and the learner's
states, for the status marks), so the site cannot disagree with `retreat list`.

Every link is a relative link to another page's source path, so MkDocs checks it (a dead link
fails `mkdocs build --strict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from retreat.files import page_title
from retreat.learner.plan import stage_summaries, views
from retreat.learner.progress import ItemState
from retreat.roadmap import Exercise, Item, Quiz, Reading, Roadmap, Stage
from retreat.site.graphs import exercise_map, legend, stage_map
from retreat.site.markup import (
    CLI_PAGE,
    PROGRESS_PAGE,
    ROADMAP_PAGE,
    attr,
    cell,
    indent,
    item_page,
    kind_icon,
    md_text,
    minutes_text,
    rel,
    short,
    stage_page,
    status_icon,
)
from retreat.site.source import ExerciseSource, PublicName, check_title, exercise_source, solution_lines


class Site:
    """The roadmap plus what the pages need to link to each other, for one build."""

    def __init__(self, roadmap: Roadmap, root: Path, docs_dir: Path,
                 states: dict[str, ItemState] | None = None) -> None:
        self.roadmap = roadmap
        self.root = root
        self.docs_dir = docs_dir
        self.states = states or {}
        self.views = {v.item.id: v for v in views(roadmap, self.states)}
        self.stage_by_item = {i.id: s for s in roadmap.stages for i in s.items}
        self.unlocks: dict[str, list[Item]] = {i.id: [] for i in roadmap.items}
        for item in roadmap.items:
            for req in item.requires:
                self.unlocks.setdefault(req, []).append(item)

    # -- lookups -------------------------------------------------------------------------------
    def page_of(self, item_id: str) -> str:
        item = self.roadmap.get(item_id)
        return item_page(self.stage_by_item[item_id], item)

    def link(self, src_from: str, item_id: str, *, limit: int | None = None) -> str:
        item = self.roadmap.get(item_id)
        text = short(item.title, limit) if limit else item.title
        return f"[{md_text(text)}]({rel(src_from, self.page_of(item_id))})"

    @cached_property
    def solution_lines(self) -> dict[str, str]:
        """The lines learners write (from the solutions' TODO blocks), whitespace-normalised."""
        return solution_lines(self.root, self.roadmap)

    def hint_reveals_solution(self, hint: str) -> bool:
        """True when a hint quotes a line of the solution: the site then keeps it for the terminal."""
        text = " ".join(hint.replace("`", " ").split())
        return any(line in text for line in self.solution_lines)

    def notes_page(self, item: Item) -> str | None:
        """The item's notes page, if the file exists yet (a page under construction has none)."""
        if item.notes and (self.docs_dir / item.notes).is_file():
            return item.notes
        return None

    def stage_notes(self, stage: Stage) -> list[str]:
        """Every notes page of a stage: the items' pages in roadmap order, then any others."""
        ordered = [n for n in (self.notes_page(i) for i in stage.items) if n]
        folder = self.docs_dir / "notes" / stage.id
        others = sorted(p.relative_to(self.docs_dir).as_posix() for p in folder.glob("*.md")) \
            if folder.is_dir() else []
        seen = set(ordered)
        return ordered + [o for o in others if o not in seen and not seen.add(o)]

    def generated_pages(self) -> list[str]:
        pages = [ROADMAP_PAGE, PROGRESS_PAGE, CLI_PAGE]
        for stage in self.roadmap.stages:
            pages.append(stage_page(stage))
            pages.extend(item_page(stage, i) for i in stage.items)
        return pages

    def nav(self) -> list[dict]:
        """One nav section per stage: its overview, its items, its notes pages."""
        out = []
        for stage in self.roadmap.stages:
            section: list = [stage_page(stage)]
            items = [{f"{n}. {i.title}": item_page(stage, i)} for n, i in enumerate(stage.items, 1)]
            if items:
                section.append({"Exercises and readings": items})
            notes = self.stage_notes(stage)
            if notes:
                section.append({"Notes": notes})
            out.append({stage.title: section})
        return out

    # -- pages -----------------------------------------------------------------------------------
    def roadmap_page(self) -> str:
        rm, src = self.roadmap, ROADMAP_PAGE
        items = [i for i in rm.items if not i.optional]
        total_min = sum(i.minutes for i in items)
        quizzes = sum(isinstance(i, Quiz) for i in rm.items)
        out = [
            "---", "hide:", "  - navigation", "---", "",
            f"# Roadmap: {rm.course.title}",
            "",
            rm.course.description,
            "",
            f"**{len(rm.stages)} stages · {len(rm.exercises)} exercises · "
            f"{len(rm.items) - len(rm.exercises) - quizzes} readings · "
            + (f"{quizzes} quizzes · " if quizzes else "") + f"about {minutes_text(total_min)} of work "
            f"· {sum(i.points for i in items)} points.** The same roadmap as `retreat list`; "
            f"your own progress is on the [progress page]({PROGRESS_PAGE}).",
            "",
            "## Stages",
            "",
            "| Stage | Items | Estimated time | Points | Days |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for stage in rm.stages:
            days = sorted({i.day for i in stage.items if i.day})
            span = (f"{days[0]}–{days[-1]}" if len(days) > 1 else str(days[0])) if days else "—"
            counted = [i for i in stage.items if not i.optional]
            out.append(f"| [{cell(stage.title)}]({rel(src, stage_page(stage))}) — {cell(stage.summary)} "
                       f"| {len(stage.items)} | {minutes_text(sum(i.minutes for i in counted))} "
                       f"| {sum(i.points for i in counted)} | {span} |")
        out += ["", "## What builds on what", "",
                "Every exercise, stage by stage; a box says which exercises it builds on (\"after "
                "3\": exercise 3 first; those implied by a longer path are left out) and links its "
                "page. An item unlocks once everything it needs is passed, done or skipped; each "
                "stage's page has its full graph, readings included.", "",
                exercise_map(self, src), "", legend(), ""]
        out += [f"## Suggested {rm.course.days}-day plan {{ #plan }}", ""]
        out += self._plan(src)
        out += ["", "## Every item", ""]
        for stage in rm.stages:
            out += [f"### {stage.title}", "", f"{stage.summary} [Stage overview and graph]"
                    f"({rel(src, stage_page(stage))}).", ""]
            out += self._items_table(src, stage.items) if stage.items else ["*No items in this stage yet.*"]
            out.append("")
        return "\n".join(out) + "\n"

    def _items_table(self, src: str, items: Iterable[Item]) -> list[str]:
        out = ["| Item | Time | Day | Points | Needs |", "| --- | ---: | ---: | ---: | --- |"]
        for n, item in enumerate(items, 1):
            view = self.views[item.id]
            needs = "<br>".join(self.link(src, r, limit=34) for r in item.requires) or "—"
            opt = " *(optional)*" if item.optional else ""
            out.append(f"| {status_icon(view)} {n}. {kind_icon(item)} "
                       f"[{md_text(item.title)}]({rel(src, self.page_of(item.id))}){opt} "
                       f"| {minutes_text(item.minutes)} | {item.day or '—'} | {item.points} | {needs} |")
        return out

    def plan_days(self) -> dict[int | None, list[Item]]:
        days: dict[int | None, list[Item]] = {}
        for item in self.roadmap.items:
            days.setdefault(item.day, []).append(item)
        return days

    def _plan(self, src: str) -> list[str]:
        rm = self.roadmap
        days = self.plan_days()
        budget = rm.course.hours_per_day * 60
        out = [f"The plan assumes about {rm.course.hours_per_day:g} hours of study a day. "
               "Estimated times are for a first attempt; reading the notes is part of each item.", "",
               "| Day | Items | Time |", "| ---: | --- | ---: |"]
        last = max([d for d in days if d] + [rm.course.days])
        for day in range(1, last + 1):
            items = days.get(day, [])
            mins = sum(i.minutes for i in items)
            links = "<br>".join(f"{kind_icon(i)} [{md_text(i.title)}]({rel(src, self.page_of(i.id))})"
                                + (" *(optional)*" if i.optional else "") for i in items) or "*review, catch up*"
            over = " :material-alert:{ title='more than the daily budget' }" if mins > budget * 1.15 else ""
            out.append(f"| {day} | {links} | {minutes_text(mins)}{over} |")
        if days.get(None):
            links = "<br>".join(f"[{md_text(i.title)}]({rel(src, self.page_of(i.id))})" for i in days[None])
            out.append(f"| any | {links} | {minutes_text(sum(i.minutes for i in days[None]))} |")
        return out

    def stage_overview(self, stage: Stage) -> str:
        src = stage_page(stage)
        n = [s.id for s in self.roadmap.stages].index(stage.id)
        summary = next(s for s in stage_summaries(self.roadmap, self.states) if s.stage.id == stage.id)
        counted = [i for i in stage.items if not i.optional]
        out = ["---", "hide:", "  - navigation", "---", "",
               f"# {stage.title}", "", f"*Stage {n} of the roadmap.* {stage.summary}", "",
               f"**{len(stage.items)} items · {minutes_text(sum(i.minutes for i in counted))} · "
               f"{summary.max_points} points** — you have completed {summary.complete} of "
               f"{summary.total} ([your progress]({rel(src, PROGRESS_PAGE)})).", ""]
        if stage.items:
            out += [stage_map(self, src, stage), "", legend(), ""]
            out += self._items_table(src, stage.items)
        else:
            out.append("*No items in this stage yet.*")
        notes = self.stage_notes(stage)
        if notes:
            out += ["", "## Notes", ""]
            out += [f"- [{_notes_title(self.docs_dir / p)}]({rel(src, p)})" for p in notes]
        return "\n".join(out) + "\n"

    def item_page(self, stage: Stage, item: Item) -> str:
        if isinstance(item, Exercise):
            return self._exercise_page(stage, item)
        if isinstance(item, Quiz):
            from retreat.site.quiz import quiz_page  # questions and choices, never the answers

            return quiz_page(self, stage, item)
        return self._reading_page(stage, item)

    def _header(self, src: str, stage: Stage, item: Item) -> list[str]:
        n = stage.items.index(item) + 1
        kind = "Exercise" if isinstance(item, Exercise) else "Reading"
        facts = [f":material-map-marker-path: [{cell(stage.title)}]({rel(src, stage_page(stage))}), "
                 f"{kind.lower()} {n} of {len(stage.items)}",
                 f":material-clock-outline: {minutes_text(item.minutes)}",
                 f":material-star-outline: {item.points} points"]
        if item.day:
            facts.append(f":material-calendar-today: [day {item.day}]({rel(src, ROADMAP_PAGE)}#plan)")
        if item.optional:
            facts.append(":material-flag-outline: optional")
        out = [f"# {item.title}", "", '<div class="rt-facts" markdown>', " · ".join(facts), "</div>", ""]
        if item.summary:
            out += [f"*{item.summary}*" if "*" not in item.summary else item.summary, ""]
        return out

    def _relations(self, src: str, item: Item) -> list[str]:
        needs = ", ".join(self.link(src, r) for r in item.requires)
        unlocks = ", ".join(self.link(src, u.id) for u in self.unlocks.get(item.id, []))
        out = [f"- :material-source-branch: **Needs** {needs}" if needs
               else "- :material-source-branch: **Needs** nothing: you can start here"]
        if unlocks:
            out.append(f"- :material-lock-open-variant-outline: **Unlocks** {unlocks}")
        return out

    def _exercise_page(self, stage: Stage, ex: Exercise) -> str:
        src = item_page(stage, ex)
        source = exercise_source(self.root, ex.solution, ex.tests)
        notes = self.notes_page(ex)
        out = self._header(src, stage, ex)
        out += ['!!! abstract "At a glance"', "",
                f"    - :material-file-code-outline: **Edit** `{ex.exercise}`",
                f"    - :material-check-decagram-outline: **Grade** `retreat check {ex.id}` "
                "(or `retreat watch` to re-check on every save)",
                f"    - :material-test-tube: **Checked by** `{ex.tests}`"]
        if notes:
            out.append(f"    - :material-notebook-outline: **Notes** "
                       f"[{md_text(_notes_title(self.docs_dir / notes))}]({rel(src, notes)})")
        out += ["    " + line for line in self._relations(src, ex)] + [""]
        if source.task:
            out += ["## The task", "", source.task, ""]
        if source.names:
            out += ["## What you write", "",
                    "These names are what the tests import from your file; keep their signatures.", ""]
            out += _names(source)
        if source.checks:
            out += ["## What is checked", "",
                    f"`retreat check {ex.id}` runs {len(source.checks)} checks; the exercise is passed "
                    "when every one passes.", ""]
            out += [f"- :material-checkbox-blank-circle-outline: {check_title(c)} <small>`{c}`</small>"
                    for c in source.checks]
            out.append("")
        if ex.forbid:
            calls = ", ".join(f"`{f}`" for f in ex.forbid)
            out += ['!!! warning "Not allowed in your file"', "",
                    f"    The point is to write these yourself, so the grader rejects a file that calls {calls}.",
                    ""]
        if ex.hints:
            out += ["## Hints", "",
                    "Try first; open one hint at a time (`retreat hint` shows them in the terminal too).", ""]
            for n, hint in enumerate(ex.hints, 1):
                if self.hint_reveals_solution(hint):
                    # The published site never shows solution code; the terminal shows it on request.
                    hint = (f"This hint quotes part of the answer, so the site leaves it out: "
                            f"`retreat hint {ex.id}` shows it in your terminal when you want it.")
                out += [f'??? tip "Hint {n} of {len(ex.hints)}"', "", indent(hint), ""]
        out += self._reading_section(src, ex, notes)
        out += ["## Work on it", "", "```bash",
                f"retreat next                 # is {ex.id} unlocked? what comes first",
                f"$EDITOR {ex.exercise}",
                f"retreat check {ex.id}",
                f"retreat hint {ex.id}         # one more hint",
                f"retreat solution {ex.id}     # the reference, once passed",
                "```", ""]
        if source.stub:
            out += [f'??? example "The file you start from: `{ex.exercise}`"', "",
                    indent(f'```python title="{ex.exercise}"\n{source.stub.rstrip()}\n```'), ""]
        return "\n".join(out) + "\n"

    def _reading_section(self, src: str, item: Item, notes: str | None) -> list[str]:
        resources = item.resources if isinstance(item, Exercise) else ()
        if not notes and not resources:
            return []
        out = ["## Read", ""]
        if notes:
            out.append(f"- :material-notebook-outline: [{_notes_title(self.docs_dir / notes)}]"
                       f"({rel(src, notes)}) — the course notes for this item")
        for r in resources:
            title = f"[{r.title}]({r.url})" if r.url else r.title
            out.append(f"- :material-bookshelf: {title}" + (f" — {r.note}" if r.note else ""))
        return out + [""]

    def _reading_page(self, stage: Stage, rd: Reading) -> str:
        src = item_page(stage, rd)
        notes = self.notes_page(rd)
        out = self._header(src, stage, rd)
        if rd.url:
            out += [f"[:material-open-in-new: Open it]({rd.url}){{ .md-button .md-button--primary }}", ""]
        out += ['!!! abstract "At a glance"', ""]
        if rd.url:
            out.append(f"    - :material-link-variant: **Where** <{rd.url}>")
        if rd.book:
            out.append(f"    - :material-bookshelf: **Book** {rd.book}")
        out += ["    " + line for line in self._relations(src, rd)] + [""]
        out += self._reading_section(src, rd, notes)
        out += ["## When you have read it", "", "```bash", f"retreat done {rd.id}", "```", "",
                f"marks it done (or `retreat skip {rd.id}` if you know it already), and the items "
                "that need it unlock.", ""]
        return "\n".join(out) + "\n"

    def notes_banner(self, notes_src: str) -> str | None:
        """A short 'practise it' box for a notes page that belongs to an item."""
        for stage in self.roadmap.stages:
            for item in stage.items:
                if item.notes == notes_src:
                    kind = "Exercise" if isinstance(item, Exercise) else "Reading"
                    cmd = f"retreat check {item.id}" if isinstance(item, Exercise) else f"retreat done {item.id}"
                    return (f'!!! example "{kind}: {attr(item.title)}"\n\n'
                            f"    These notes go with [{item.title}]({rel(notes_src, item_page(stage, item))}) "
                            f"in stage *{stage.title}* ({minutes_text(item.minutes)}). "
                            f"When you are ready: `{cmd}`.\n")
        return None


def _names(source: ExerciseSource) -> list[str]:
    """Each public name as its signature and docstring, the way the stub shows them."""
    out = []
    for name in source.names:
        out += ["```python", _decl(name, ""), "```", ""]
    return out


def _decl(name: PublicName, pad: str) -> str:
    inner = pad + "    "
    lines = [f"{pad}{name.signature}:"]
    doc = name.doc.strip().replace('"' * 3, "'" * 3).splitlines()
    if doc:
        lines.append(f'{inner}"""{doc[0]}' + ('"""' if len(doc) == 1 else ""))
        lines += [f"{inner}{d}" if d.strip() else "" for d in doc[1:]]
        if len(doc) > 1:
            lines.append(f'{inner}"""')
    for m in name.methods:
        lines += ["", _decl(m, inner)]
    if not name.methods:
        lines.append(f"{inner}...")
    return "\n".join(lines)


def _notes_title(path: Path) -> str:
    """A notes page's own title: its first '# ' heading (or the file name)."""
    return page_title(path, path.stem.replace("-", " ").capitalize())


