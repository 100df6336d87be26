"""Read YAML with the line of every value, and the checks that roadmap.yaml, the stage files it
includes and the learner's my-roadmap.yaml share: field validation against the types in
model.py, item lists, the prerequisite graph, the format version, quizzes. Every error names the
file, the line and the field.

Roadmap files take no YAML aliases (`*name`, and so no merge keys `<<: *name`): the format never
needs one, every value should be read where it is written (errors name that line), and an alias
is how a few hundred bytes expand to billions of values ("billion laughs"). The first alias is
refused, with its line, after one linear pass over the file's events; an anchor alone (`&name`)
is harmless and allowed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from retreat.errors import RoadmapError, did_you_mean
from retreat.roadmap.model import CHOICE_LETTERS, FORMAT_VERSION, ITEM_KINDS, Exercise, Quiz

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class YamlDoc:
    """Parsed YAML plus the line of every value, keyed by its path of keys and indices."""

    def __init__(self, path: Path, rel: str) -> None:
        import yaml  # only when a roadmap is parsed: a cache hit needs no YAML

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.rel = rel
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RoadmapError(rel, None, None, "file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RoadmapError(rel, None, None, f"cannot read: {exc}") from None
        try:
            _refuse_aliases(text, loader, rel)
            reader = loader(text)
            try:  # composed once, and the data built from those nodes
                node = reader.get_single_node()
                self.data = reader.construct_document(node) if node is not None else None
            finally:
                reader.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise RoadmapError(rel, line, None, f"invalid YAML: {exc.problem or exc}") from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow, at a position
            line = text[: exc.position].count("\n") + 1
            char = f"#x{ord(exc.character):04x}" if isinstance(exc.character, str) else repr(exc.character)
            raise RoadmapError(rel, line, None, f"invalid YAML: character {char}: {exc.reason}") from None
        except yaml.YAMLError as exc:
            raise RoadmapError(rel, None, None, "invalid YAML: " + " ".join(str(exc).split())) from None
        self.lines: dict[tuple, int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: Any, path: tuple) -> None:  # a tree: _refuse_aliases saw to that
        import yaml

        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[path + (key.value,)] = key.start_mark.line + 1
                self._walk(value, path + (key.value,))
                self.lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                self._walk(value, path + (i,))

    def line(self, path: tuple) -> int | None:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def fail(self, path: tuple, field: str | None, message: str) -> RoadmapError:
        return RoadmapError(self.rel, self.line(path), field, message)


def _refuse_aliases(text: str, loader: type, rel: str) -> None:
    """RoadmapError at the first alias (`*name`) in `text`, found without expanding anything."""
    import yaml

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            raise RoadmapError(rel, line, None, f"YAML alias *{event.anchor} is not allowed in a roadmap "
                                                "file: write the value out where it is used")


def _field_name(prefix: str, loc: tuple) -> str:
    parts = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts)


def validate(cls: type, data: Any, doc: YamlDoc, path: tuple, label: str) -> Any:
    from pydantic import TypeAdapter, ValidationError

    if not isinstance(data, dict):
        raise doc.fail(path, label, f"expected a mapping, got {type(data).__name__}")
    try:
        return TypeAdapter(cls).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "unexpected_keyword_argument":
            msg = "unknown field (check the spelling; see retreat/schema/roadmap.schema.json)"
        elif err["type"] in ("missing_argument", "missing"):
            msg = "required field is missing"
        name = _field_name(label, loc)
        return_path = path + tuple(p for p in loc)
        raise doc.fail(return_path, name, msg[0].lower() + msg[1:]) from None


def load_items(raw_items: Any, doc: YamlDoc, path: tuple, stage_id: str) -> list:
    if not isinstance(raw_items, list):
        raise doc.fail(path, f"stage {stage_id!r}: items", "expected a list of items")
    items = []
    for i, raw in enumerate(raw_items):
        p = path + (i,)
        if not isinstance(raw, dict):
            raise doc.fail(p, f"items[{i}]", "expected a mapping with at least id and title")
        label = f"item {raw.get('id', i)!r}"
        kind = raw.get("kind", "exercise")
        if not isinstance(kind, str) or kind not in ITEM_KINDS:
            raise doc.fail(p + ("kind",), f"{label}.kind",
                           f"unknown kind {kind!r}; expected one of {', '.join(ITEM_KINDS)}")
        item = validate(ITEM_KINDS[kind], raw, doc, p, label)
        if not ID_PATTERN.match(item.id):
            raise doc.fail(p + ("id",), f"{label}.id", "ids are kebab-case: lowercase letters, digits and '-'")
        if kind == "quiz":
            if found := quiz_problem(item):
                raise doc.fail(p + found[0], f"{label}.{found[1]}", found[2])
        items.append((item, doc, p))
    return items


def check_graph(located: list, root: Path, check_files: bool) -> None:
    """Ids are unique, prerequisites exist and form no cycle, and the files items name exist.

    `located` holds every item as (item, its YamlDoc, its key path), so an error names the file
    and line that define the item."""
    seen: dict[str, tuple] = {}
    for item, doc, p in located:
        if item.id in seen:
            first = seen[item.id]
            raise doc.fail(p + ("id",), f"item {item.id!r}.id",
                           f"duplicate id (first defined in {first[1].rel}:{first[1].line(first[2])})")
        seen[item.id] = (item, doc, p)
    for item, doc, p in located:
        for j, req in enumerate(item.requires):
            if req not in seen:
                hint = did_you_mean(req, list(seen))
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise doc.fail(p + ("requires", j), f"item {item.id!r}.requires",
                               f"unknown prerequisite {req!r}{extra}")
            if req == item.id:
                raise doc.fail(p + ("requires", j), f"item {item.id!r}.requires", "an item cannot require itself")
    _check_cycles(seen)
    if not check_files:
        return
    for item, doc, p in located:
        if isinstance(item, Exercise):
            # A missing learner file is not an author error: `retreat reset` restores it.
            for name in ("solution", "tests"):
                rel = getattr(item, name)
                if not (root / rel).is_file():
                    raise doc.fail(p + (name,), f"item {item.id!r}.{name}", f"file not found: {rel}")
        if item.notes and not (root / "docs" / item.notes).is_file():
            raise doc.fail(p + ("notes",), f"item {item.id!r}.notes", f"file not found: docs/{item.notes}")


def check_format_version(doc: YamlDoc, data: dict) -> int:
    """The file's format_version, which must be the one this retreat reads (roadmap and overlay alike)."""
    version = data.get("format_version")
    if version is None:
        raise doc.fail((), "format_version", f"required field is missing (this retreat reads version {FORMAT_VERSION})")
    if version != FORMAT_VERSION:
        raise doc.fail(("format_version",), "format_version",
                       f"version {version!r} is not supported; this retreat reads version {FORMAT_VERSION}")
    return version


def _check_cycles(seen: dict[str, tuple]) -> None:
    """Prerequisites form no cycle; one is reported as the path it takes, on the item that closes it."""
    from graphlib import CycleError, TopologicalSorter

    try:
        TopologicalSorter({item_id: entry[0].requires for item_id, entry in seen.items()}).prepare()
    except CycleError as exc:
        # graphlib lists each node before the one that requires it; a reader follows "requires".
        cycle = list(reversed(exc.args[1]))
        item, doc, p = seen[cycle[0]]
        raise doc.fail(p + ("requires",), f"item {cycle[0]!r}.requires",
                       "prerequisites form a cycle: " + " -> ".join(cycle)) from None


def quiz_problem(quiz: Quiz) -> tuple[tuple, str, str] | None:
    """The first authoring mistake in a quiz, as (key path under the item, field, message)."""
    if not quiz.questions:
        return ("questions",), "questions", "a quiz needs at least one question"
    if not 0 < quiz.pass_mark <= 1:
        return ("pass_mark",), "pass_mark", "a fraction of the questions, above 0 and at most 1 (1.0: all)"
    for n, q in enumerate(quiz.questions):
        at, name = ("questions", n), f"questions[{n}]"
        if not q.prompt.strip():
            return at + ("prompt",), f"{name}.prompt", "the question is empty"
        if q.kind == "number":
            if q.choices:
                return at + ("choices",), f"{name}.choices", "a number question has no choices"
            if isinstance(q.answer, tuple):
                return at + ("answer",), f"{name}.answer", "a number question's answer is one number"
            if q.tolerance < 0 or not math.isfinite(q.tolerance):
                return at + ("tolerance",), f"{name}.tolerance", "the tolerance is a number >= 0"
            continue
        if q.tolerance:
            return at + ("tolerance",), f"{name}.tolerance", "only a number question has a tolerance"
        if len(q.choices) < 2:
            return at + ("choices",), f"{name}.choices", f"a {q.kind}-choice question needs two or more choices"
        if len(q.choices) > len(CHOICE_LETTERS):
            return at + ("choices",), f"{name}.choices", f"at most {len(CHOICE_LETTERS)} choices"
        indices = q.answer if isinstance(q.answer, tuple) else (q.answer,)
        if q.kind == "single" and isinstance(q.answer, tuple):
            return at + ("answer",), f"{name}.answer", "a single-choice answer is one index (from 0)"
        if q.kind == "multiple" and not isinstance(q.answer, tuple):
            return at + ("answer",), f"{name}.answer", "a multiple-choice answer is a list of indices, e.g. [0, 2]"
        for i in indices:
            if isinstance(i, float) or not 0 <= i < len(q.choices):
                return at + ("answer",), f"{name}.answer", \
                    f"{i!r} is not a choice's index: 0 to {len(q.choices) - 1} (0 is a)"
        if len(set(indices)) != len(indices) or not indices:
            return at + ("answer",), f"{name}.answer", "list each right choice once"
    return None
