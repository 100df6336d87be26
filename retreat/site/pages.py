"""Markdown for the pages that come from the roadmap: the roadmap itself, one overview per stage
and one page per item. Pure functions of the roadmap objects the CLI uses (and the learner's
states, for the status marks), so the site cannot disagree with `retreat list`.

Every link is a relative link to another page's source path, so MkDocs checks it (a dead link
fails `mkdocs build --strict`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from retreat.plan import ItemView, stage_summaries, views
from retreat.progress import ItemState
from retreat.roadmap import Exercise, Item, Reading, Roadmap, Stage
from retreat.site.source import ExerciseSource, PublicName, check_title, exercise_source

ROADMAP_PAGE = "roadmap.md"
PROGRESS_PAGE = "progress.md"
CLI_PAGE = "cli.md"


# -- paths and small helpers ----------------------------------------------------------------------
def item_page(stage: Stage, item: Item) -> str:
    """The source path of an item's page, e.g. foundations/softmax.md."""
    return f"{stage.id}/{item.id}.md"


def stage_page(stage: Stage) -> str:
    return f"{stage.id}/index.md"


def rel(src_from: str, src_to: str) -> str:
    """A relative link from one page source to another (both relative to docs/)."""
    return posixpath.relpath(src_to, posixpath.dirname(src_from) or ".")


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def minutes_text(minutes: float) -> str:
    minutes = int(round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d}" if m else f"{h} h"


def status_icon(view: ItemView) -> str:
    status = view.state.status
    if status == "passed":
        return ":material-check-circle:{ .rt-passed title='passed' }"
    if status == "done":
        return ":material-check-circle-outline:{ .rt-passed title='done' }"
    if status == "skipped":
        return ":material-debug-step-over:{ .rt-skipped title='skipped' }"
    if view.locked:
        return ":material-lock-outline:{ .rt-locked title='locked' }"
    return ":material-circle-outline:{ .rt-open title='open' }"


def kind_icon(item: Item) -> str:
    if isinstance(item, Exercise):
        return ":material-code-braces:{ title='exercise' }"
    return ":material-book-open-variant:{ title='reading' }"


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

    def link(self, src_from: str, item_id: str, *, short: int | None = None) -> str:
        item = self.roadmap.get(item_id)
        text = _short(item.title, short) if short else item.title
        return f"[{_md_text(text)}]({rel(src_from, self.page_of(item_id))})"

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

    # -- Mermaid ---------------------------------------------------------------------------------
    def mermaid(self, items: Iterable[Item]) -> str:
        """A flowchart of a stage's items and their prerequisites, left to right; prerequisites
        from other stages are dashed boxes."""
        items = list(items)
        inside = {i.id for i in items}
        ids: dict[str, str] = {}

        def node(item_id: str) -> str:
            return ids.setdefault(item_id, f"n{len(ids)}")

        lines = [_MM_INIT, "flowchart LR"]
        for item in items:
            for req in item.requires:
                if req not in inside and req not in ids:
                    other = self.roadmap.get(req)
                    lines.append(f'  {node(req)}("{_mm(_short(other.title))}<br/><small>'
                                 f'{_mm(self.stage_by_item[req].title)}</small>"):::outside')
        for n, item in enumerate(items, 1):
            when = f"day {item.day} · " if item.day else ""
            text = f'"{n}. {_mm(_short(item.title))}<br/><small>{when}{minutes_text(item.minutes)}</small>"'
            shape = f"[{text}]" if isinstance(item, Exercise) else f"({text})"
            lines.append(f"  {node(item.id)}{shape}:::{self._mm_class(item)}")
        for item in items:
            for req in item.requires:
                arrow = "-.->" if self.roadmap.get(req).optional or item.optional else "-->"
                lines.append(f"  {node(req)} {arrow} {node(item.id)}")
        return "```mermaid\n" + "\n".join(lines + _MM_CLASSES) + "\n```"

    def exercise_ancestors(self, item: Item) -> list[str]:
        """The exercises an item needs, looking through readings (which rarely need anything)."""
        out: list[str] = []
        todo, seen = list(item.requires), set()
        while todo:
            req = todo.pop(0)
            if req in seen:
                continue
            seen.add(req)
            other = self.roadmap.get(req)
            if isinstance(other, Exercise):
                out.append(req)
            else:
                todo.extend(other.requires)
        return out

    def exercise_graph(self) -> str:
        """Every exercise and the exercises it builds on, left to right; the readings an
        exercise needs are counted in its box (each stage's page draws them)."""
        lines = [_MM_INIT, "flowchart LR"]
        ids = {e.id: f"e{n}" for n, e in enumerate(self.roadmap.exercises)}
        for ex in self.roadmap.exercises:
            reads = sum(1 for r in ex.requires if not isinstance(self.roadmap.get(r), Exercise))
            extra = f" · {reads} reading{'s' * (reads != 1)}" if reads else ""
            when = f"day {ex.day} · " if ex.day else ""
            lines.append(f'  {ids[ex.id]}["{_mm(_short(ex.title, 38))}<br/><small>{when}'
                         f'{minutes_text(ex.minutes)}{extra}</small>"]:::{self._mm_class(ex)}')
        needs = {ex.id: set(self.exercise_ancestors(ex)) for ex in self.roadmap.exercises}
        for ex in self.roadmap.exercises:
            for req in _direct(ex.id, needs):
                lines.append(f"  {ids[req]} --> {ids[ex.id]}")
        return "```mermaid\n" + "\n".join(lines + _MM_CLASSES) + "\n```"

    def _mm_class(self, item: Item) -> str:
        view = self.views[item.id]
        if view.complete:
            return "done"
        return "locked" if view.locked else "open"

    # -- pages -----------------------------------------------------------------------------------
    def roadmap_page(self) -> str:
        rm, src = self.roadmap, ROADMAP_PAGE
        items = [i for i in rm.items if not i.optional]
        total_min = sum(i.minutes for i in items)
        out = [
            "---", "hide:", "  - navigation", "---", "",
            f"# Roadmap: {rm.course.title}",
            "",
            rm.course.description,
            "",
            f"**{len(rm.stages)} stages · {len(rm.exercises)} exercises · "
            f"{len(rm.items) - len(rm.exercises)} readings · about {minutes_text(total_min)} of work "
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
                "The exercises and the ones they build on: an arrow points from an exercise to one "
                "that needs it (arrows implied by a longer path are left out). An item unlocks once "
                "everything it needs is passed, done or skipped; each stage's page has its full "
                "graph, readings included.", "",
                self.exercise_graph(), "", _legend(), ""]
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
            needs = "<br>".join(self.link(src, r, short=34) for r in item.requires) or "—"
            opt = " *(optional)*" if item.optional else ""
            out.append(f"| {status_icon(view)} {n}. {kind_icon(item)} "
                       f"[{_md_text(item.title)}]({rel(src, self.page_of(item.id))}){opt} "
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
            links = "<br>".join(f"{kind_icon(i)} [{_md_text(i.title)}]({rel(src, self.page_of(i.id))})"
                                + (" *(optional)*" if i.optional else "") for i in items) or "*review, catch up*"
            over = " :material-alert:{ title='more than the daily budget' }" if mins > budget * 1.15 else ""
            out.append(f"| {day} | {links} | {minutes_text(mins)}{over} |")
        if days.get(None):
            links = "<br>".join(f"[{_md_text(i.title)}]({rel(src, self.page_of(i.id))})" for i in days[None])
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
            out += [self.mermaid(stage.items), "", _legend(), ""]
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
                       f"[{_md_text(_notes_title(self.docs_dir / notes))}]({rel(src, notes)})")
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
                    return (f'!!! example "{kind}: {_attr(item.title)}"\n\n'
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
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    except OSError:
        pass
    return path.stem.replace("-", " ").capitalize()


def _legend() -> str:
    return ('<div class="rt-legend" markdown>'
            '<span class="rt-key rt-key-done"></span> passed or done '
            '<span class="rt-key rt-key-open"></span> unlocked '
            '<span class="rt-key rt-key-locked"></span> locked '
            '<span class="rt-key rt-key-outside"></span> in another stage · '
            'rounded boxes are readings</div>')


def _mm(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return (text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


# natural size (the page scrolls sideways) instead of shrinking a wide graph to illegible text
_MM_INIT = '%%{init: {"flowchart": {"useMaxWidth": false}}}%%'
_MM_CLASSES = [
    "  classDef done fill:#c8e6c9,stroke:#2e7d32,color:#1b3d1e",
    "  classDef open fill:#dbe8ff,stroke:#3f51b5,color:#1a237e",
    "  classDef locked fill:#eceff1,stroke:#90a4ae,color:#455a64",
    "  classDef outside fill:#fff8e1,stroke:#bfa04a,color:#5d4b12,stroke-dasharray:4 3",
]


def _direct(node: str, needs: dict[str, set[str]]) -> list[str]:
    """The prerequisites of `node` not already implied by another one (a transitive reduction),
    so the graph draws A -> B -> C without a redundant A -> C."""
    def reach(start: str) -> set[str]:
        seen, todo = set(), list(needs.get(start, ()))
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(needs.get(n, ()))
        return seen

    direct = needs.get(node, set())
    implied = set().union(*(reach(r) for r in direct)) if direct else set()
    return sorted(direct - implied, key=list(needs).index)


def _md_text(text: str) -> str:
    """Text safe as a Markdown link text, also inside a table cell."""
    return re.sub(r"([\\`*_\[\]|<])", r"\\\1", text)


def _short(text: str, limit: int = 46) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,:;(") + "…"


def _attr(text: str) -> str:
    return re.sub(r'["\\]', "", text)
