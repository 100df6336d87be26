"""The graphs of the site: a stage's items and their prerequisites (Mermaid), and the map of every
exercise (HTML: one band per stage, top to bottom, boxes wrapped into rows so any course fits a
laptop's width without sideways scrolling; each box links its page and names the exercises it
builds on). Boxes are coloured by the learner's state; locked ones are greyed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from retreat.roadmap import Exercise, Item, Roadmap
from retreat.site.markup import minutes_text, short

if TYPE_CHECKING:
    from retreat.site.pages import Site

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


def stage_graph(site: Site, items: Iterable[Item]) -> str:
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
                other = site.roadmap.get(req)
                lines.append(f'  {node(req)}("{_mm(short(other.title))}<br/><small>'
                             f'{_mm(site.stage_by_item[req].title)}</small>"):::outside')
    for n, item in enumerate(items, 1):
        when = f"day {item.day} · " if item.day else ""
        text = f'"{n}. {_mm(short(item.title))}<br/><small>{when}{minutes_text(item.minutes)}</small>"'
        shape = f"[{text}]" if isinstance(item, Exercise) else f"({text})"
        lines.append(f"  {node(item.id)}{shape}:::{_mm_class(site, item)}")
    for item in items:
        for req in item.requires:
            arrow = "-.->" if site.roadmap.get(req).optional or item.optional else "-->"
            lines.append(f"  {node(req)} {arrow} {node(item.id)}")
    return "```mermaid\n" + "\n".join(lines + _MM_CLASSES) + "\n```"

def exercise_ancestors(roadmap: Roadmap, item: Item) -> list[str]:
    """The exercises an item needs, looking through readings (which rarely need anything)."""
    out: list[str] = []
    todo, seen = list(item.requires), set()
    while todo:
        req = todo.pop(0)
        if req in seen:
            continue
        seen.add(req)
        other = roadmap.get(req)
        if isinstance(other, Exercise):
            out.append(req)
        else:
            todo.extend(other.requires)
    return out

def _attr(text: str) -> str:
    """Text safe inside a quoted attr_list value."""
    return text.replace("\\", "").replace('"', "'").replace("{", "(").replace("}", ")")


def _link_text(text: str) -> str:
    """Text safe inside a Markdown link's brackets."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("*", "\\*")


def _box(site: Site, src: str, stage, item: Item, number: int, after: list[str]) -> str:
    from retreat.site.markup import item_page, rel

    when = f"day {item.day} · " if item.day else ""
    kind = "" if isinstance(item, Exercise) else f"{item.kind} · "
    meta = f"{kind}{when}{minutes_text(item.minutes)}" + (f" · after {', '.join(after)}" if after else "")
    state = _mm_class(site, item)
    tip = f"{item.title}: {state}" + (f"; builds on {', '.join(after)}" if after else "")
    return (f"[{number}. {_link_text(short(item.title, 60))}<br><small>{_link_text(meta)}</small>]"
            f"({rel(src, item_page(stage, item))})"
            f'{{ .rt-box .rt-box-{state} title="{_attr(tip)}" }}')


def _band(title: str | None, boxes: list[str]) -> list[str]:
    head = ["", f"**{_link_text(title)}**"] if title else []
    return ['<div class="rt-map-stage" markdown>', *head, "", " ".join(boxes), "", "</div>", ""]


def exercise_map(site: Site, src: str) -> str:
    """Every exercise, stage by stage, as linked boxes that wrap into rows: its number, title, day,
    time and the exercises it builds directly on (the page `src` links each box relatively)."""
    needs = {ex.id: set(exercise_ancestors(site.roadmap, ex)) for ex in site.roadmap.exercises}
    number = {ex.id: n for n, ex in enumerate(site.roadmap.exercises, 1)}
    out = ['<div class="rt-map" markdown>', ""]
    for stage in site.roadmap.stages:
        boxes = [_box(site, src, stage, ex, number[ex.id], [str(number[r]) for r in _direct(ex.id, needs)])
                 for ex in stage.items if isinstance(ex, Exercise)]
        if boxes:
            out += _band(stage.title, boxes)
    return "\n".join(out + ["</div>"])


def stage_map(site: Site, src: str, stage) -> str:
    """A stage's items as linked boxes in its order, wrapped into rows; each names the items it
    builds on directly (by number in the stage, or by title when in another stage)."""
    number = {i.id: n for n, i in enumerate(stage.items, 1)}
    outside = {r: set() for i in stage.items for r in i.requires if r not in number}
    needs = outside | {i.id: set(i.requires) for i in stage.items}
    boxes = []
    for item in stage.items:
        after = [str(number[r]) if r in number else short(site.roadmap.get(r).title, 30)
                 for r in _direct(item.id, needs)]
        boxes.append(_box(site, src, stage, item, number[item.id], after))
    return "\n".join(['<div class="rt-map" markdown>', "", *_band(None, boxes), "</div>"])


def exercise_graph(site: Site) -> str:
    """Every exercise and the exercises it builds on, left to right (Mermaid; the roadmap page
    draws `exercise_map` instead, which stays readable for a large course)."""
    lines = [_MM_INIT, "flowchart LR"]
    ids = {e.id: f"e{n}" for n, e in enumerate(site.roadmap.exercises)}
    for ex in site.roadmap.exercises:
        reads = sum(1 for r in ex.requires if not isinstance(site.roadmap.get(r), Exercise))
        extra = f" · {reads} reading{'s' * (reads != 1)}" if reads else ""
        when = f"day {ex.day} · " if ex.day else ""
        lines.append(f'  {ids[ex.id]}["{_mm(short(ex.title, 38))}<br/><small>{when}'
                     f'{minutes_text(ex.minutes)}{extra}</small>"]:::{_mm_class(site, ex)}')
    needs = {ex.id: set(exercise_ancestors(site.roadmap, ex)) for ex in site.roadmap.exercises}
    for ex in site.roadmap.exercises:
        for req in _direct(ex.id, needs):
            lines.append(f"  {ids[req]} --> {ids[ex.id]}")
    return "```mermaid\n" + "\n".join(lines + _MM_CLASSES) + "\n```"

def _mm_class(site: Site, item: Item) -> str:
    view = site.views[item.id]
    if view.complete:
        return "done"
    return "locked" if view.locked else "open"


def legend() -> str:
    return ('<div class="rt-legend" markdown>'
            '<span class="rt-key rt-key-done"></span> passed or done '
            '<span class="rt-key rt-key-open"></span> unlocked '
            '<span class="rt-key rt-key-locked"></span> locked '
            '· "after 3": item 3 comes first</div>')
