"""The learner's own roadmap: `my-roadmap.yaml` beside roadmap.yaml, laid over the course's.

```yaml
format_version: 1
pace: {days: 10, hours_per_day: 3}    # your plan: days you have, hours a day (either or both)
skip: [attention-paper]               # course items you skip: they unlock what follows them
optional: [lora]                      # items that no longer block others or count
order:                                # within a stage: these first, in this order, then the rest
  build-an-llm: [bpe, causal-attention]
challenge: true                       # stubs without the TODO steps, no hint that gives code away
add:                                  # your own readings and exercises, in the roadmap's item format
  build-an-llm:
    - {id: my-kv-post, kind: reading, title: "A post on KV caches", url: "https://...", requires: [gpt-model]}
```

The course's own files are never edited, so a course update merges cleanly. The overlay is
validated like the roadmap, by the same helpers (errors name my-roadmap.yaml, the line and the
field), on a cache miss only: `load.load_roadmap` caches the merged result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from retreat.errors import did_you_mean
from retreat.roadmap.model import FORMAT_VERSION, CourseInfo, Item, Roadmap
from retreat.roadmap.validate import YamlDoc, check_format_version, check_graph, load_items, validate

OVERLAY_FILE = "my-roadmap.yaml"  # the learner's own additions, skips, order and pace
KEYS = ("format_version", "pace", "skip", "optional", "order", "add", "challenge")


@dataclass(frozen=True)
class Pace:
    """The learner's own pace: the plan is laid out again from it."""

    __pydantic_config__ = {"extra": "forbid", "use_attribute_docstrings": True}
    days: int | None = None
    """Days you have for the course (without hours_per_day: the hours a day follow from it)."""
    hours_per_day: float | None = None
    """Hours a day you can study (without days: the number of days follows from it)."""


def apply_overlay(root: Path, roadmap: Roadmap, located: list, filename: str = OVERLAY_FILE,
                  check_files: bool = True) -> Roadmap:
    """The course's roadmap with the learner's overlay applied; `RoadmapError` on the first problem.

    `located` holds the course's items as (item, YamlDoc, key path), so a duplicate id or a cycle
    is reported against both files.
    """
    doc = YamlDoc(root / filename, filename)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.fail((), None, f"expected a mapping with format_version: {FORMAT_VERSION} and any of "
                                 f"{', '.join(KEYS[1:])}")
    check_format_version(doc, data)
    unknown = sorted(set(data) - set(KEYS), key=str)
    if unknown:
        raise doc.fail((unknown[0],), str(unknown[0]), f"unknown field (expected {', '.join(KEYS)})")

    if data.get("challenge") is not None and not isinstance(data["challenge"], bool):
        raise doc.fail(("challenge",), "challenge", "expected true or false")
    stages = {s.id: list(s.items) for s in roadmap.stages}
    added = _add(root, doc, data.get("add"), stages, check_files)
    check_graph(located + added, root, check_files)
    known = [i.id for items in stages.values() for i in items]
    skip = _ids(doc, data, "skip", known)
    optional = set(_ids(doc, data, "optional", known))
    for stage_id, ids in _order(doc, data.get("order"), stages).items():
        listed = [next(i for i in stages[stage_id] if i.id == x) for x in ids]
        stages[stage_id] = listed + [i for i in stages[stage_id] if i.id not in ids]
    stages = {sid: [replace(i, optional=True) if i.id in optional else i for i in items]
              for sid, items in stages.items()}

    course = roadmap.course
    pace = validate(Pace, data["pace"], doc, ("pace",), "pace") if data.get("pace") is not None else None
    if pace is not None:
        _check_pace(doc, pace)
        stages, course = _lay_out(stages, skip, pace, course)
    return replace(roadmap, course=course,
                   stages=tuple(replace(s, items=tuple(stages[s.id])) for s in roadmap.stages),
                   files=(*roadmap.files, filename), skipped=tuple(skip),
                   added=tuple(item.id for item, _, _ in added))


def _add(root: Path, doc: YamlDoc, raw: object, stages: dict[str, list[Item]], check_files: bool) -> list:
    """Validate the learner's items like the course's and append them to their stages."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise doc.fail(("add",), "add", "expected a mapping: stage id -> list of items")
    located = []
    for stage_id, raw_items in raw.items():
        path = ("add", stage_id)
        if stage_id not in stages:
            raise doc.fail(path, f"add.{stage_id}", _unknown_stage(stage_id, stages))
        if isinstance(raw_items, list):  # your own exercise needs no reference solution
            raw_items = [_own_exercise(root, doc, path + (n,), r, check_files) for n, r in enumerate(raw_items)]
        items = load_items(raw_items, doc, path, stage_id)
        stages[stage_id].extend(item for item, _, _ in items)
        located.extend(items)
    return located


def _own_exercise(root: Path, doc: YamlDoc, path: tuple, raw: object, check_files: bool) -> object:
    """A learner's exercise without `solution:` is its own reference (what `retreat solution` shows)."""
    if not (isinstance(raw, dict) and raw.get("kind", "exercise") == "exercise" and "solution" not in raw
            and isinstance(raw.get("exercise"), str)):
        return raw
    if check_files and not (root / raw["exercise"]).is_file():
        raise doc.fail(path + ("exercise",), f"item {raw.get('id', path[-1])!r}.exercise",
                       f"file not found: {raw['exercise']}")
    return dict(raw, solution=raw["exercise"])


def _unknown_stage(stage_id: object, stages: dict) -> str:
    return f"unknown stage {stage_id!r} (the stages are {', '.join(stages)})"


def _ids(doc: YamlDoc, data: dict, key: str, known: list[str]) -> list[str]:
    raw = data.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise doc.fail((key,), key, "expected a list of item ids")
    return _id_list(doc, (key,), key, raw, known)


def _id_list(doc: YamlDoc, path: tuple, label: str, raw: list, known: list[str]) -> list[str]:
    out: list[str] = []
    for j, item_id in enumerate(raw):
        where = path + (j,)
        if not isinstance(item_id, str):
            raise doc.fail(where, f"{label}[{j}]", "expected an item id")
        if item_id not in known:
            close = did_you_mean(item_id, known)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise doc.fail(where, f"{label}[{j}]", f"unknown item {item_id!r}{hint}")
        if item_id in out:
            raise doc.fail(where, f"{label}[{j}]", f"{item_id!r} is listed twice")
        out.append(item_id)
    return out


def _order(doc: YamlDoc, raw: object, stages: dict[str, list[Item]]) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise doc.fail(("order",), "order", "expected a mapping: stage id -> item ids in the order you want")
    out = {}
    for stage_id, ids in raw.items():
        path = ("order", stage_id)
        if stage_id not in stages:
            raise doc.fail(path, f"order.{stage_id}", _unknown_stage(stage_id, stages))
        if not isinstance(ids, list):
            raise doc.fail(path, f"order.{stage_id}", "expected a list of item ids")
        in_stage = [i.id for i in stages[stage_id]]
        for j, item_id in enumerate(ids):
            if isinstance(item_id, str) and item_id not in in_stage and item_id in {
                    i.id for items in stages.values() for i in items}:
                raise doc.fail(path + (j,), f"order.{stage_id}[{j}]",
                               f"{item_id!r} is not in stage {stage_id!r}; order moves items within a stage")
        out[stage_id] = _id_list(doc, path, f"order.{stage_id}", ids, in_stage)
    return out


def _check_pace(doc: YamlDoc, pace: Pace) -> None:
    if pace.days is None and pace.hours_per_day is None:
        raise doc.fail(("pace",), "pace", "give days, hours_per_day or both")
    if pace.days is not None and pace.days < 1:
        raise doc.fail(("pace", "days"), "pace.days", "expected at least 1 day")
    if pace.hours_per_day is not None and not 0 < pace.hours_per_day <= 24:
        raise doc.fail(("pace", "hours_per_day"), "pace.hours_per_day", "expected more than 0 and at most 24 hours")


def _lay_out(stages: dict[str, list[Item]], skip: list[str], pace: Pace,
             course: CourseInfo) -> tuple[dict[str, list[Item]], CourseInfo]:
    """Give every planned item a day at the learner's pace.

    Items are taken in the order `retreat next` offers them (roadmap order, each after what it
    needs) and packed into days of `hours_per_day`; skipped and optional items get no day.
    """
    items = [i for s in stages.values() for i in s]
    planned = [i for i in items if i.id not in skip and not i.optional]
    total = sum(i.minutes for i in planned)
    hours = pace.hours_per_day
    if hours is None:  # days only: the hours a day that fit, rounded up to half hours
        hours = max(0.5, math.ceil(total / 60 / pace.days * 2) / 2)
    budget = hours * 60
    days: dict[str, int] = {}
    day, used = 1, 0.0
    for item in _availability_order(planned):
        if used and used + item.minutes > budget:
            day, used = day + 1, 0.0
        days[item.id] = day
        used += item.minutes
    needed = max(days.values(), default=0)
    course = replace(course, days=pace.days or needed, hours_per_day=hours)
    return {sid: [replace(i, day=days.get(i.id)) for i in s] for sid, s in stages.items()}, course


def _availability_order(items: list[Item]) -> list[Item]:
    """Roadmap order, except that an item comes after every planned item it requires."""
    ids = {i.id for i in items}
    placed: set[str] = set()
    out: list[Item] = []
    pending = list(items)
    while pending:
        ready = next((i for i in pending if all(r in placed or r not in ids for r in i.requires)), pending[0])
        pending.remove(ready)
        placed.add(ready.id)
        out.append(ready)
    return out
