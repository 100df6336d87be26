"""Read roadmap.yaml (and the stage files it includes) into a validated `Roadmap`.

Every error names the file, the line and the field. Validation costs a pydantic import, so the
result is cached under the state directory, keyed on the content of every file it was read from.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path
from typing import Any

from retreat.errors import RoadmapError
from retreat.roadmap import FORMAT_VERSION, ITEM_KINDS, Course, Exercise, Roadmap, Stage

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CACHE_VERSION = 4


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
            node = yaml.compose(text, Loader=loader)
            self.data = yaml.load(text, Loader=loader)
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

    def _walk(self, node: Any, path: tuple) -> None:
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
            from retreat.quiz import problem

            if found := problem(item):
                raise doc.fail(p + found[0], f"{label}.{found[1]}", found[2])
        items.append((item, doc, p))
    return items


def check_graph(located: list, root: Path, check_files: bool) -> None:
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
                from retreat.errors import UnknownItem

                hint = UnknownItem(req, list(seen)).suggestions
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise doc.fail(p + ("requires", j), f"item {item.id!r}.requires",
                               f"unknown prerequisite {req!r}{extra}")
            if req == item.id:
                raise doc.fail(p + ("requires", j), f"item {item.id!r}.requires", "an item cannot require itself")
    # Depth-first search for a cycle, reporting it as a path.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for req in seen[node][0].requires:
            if state.get(req) == 1:
                cycle = trail[trail.index(req):] + [req] if req in trail else [node, req]
                item, doc, p = seen[node]
                raise doc.fail(p + ("requires",), f"item {node!r}.requires",
                               "prerequisites form a cycle: " + " -> ".join(cycle))
            if state.get(req) is None:
                visit(req, trail + [req])
        state[node] = 2

    for item_id in seen:
        if item_id not in state:
            visit(item_id, [item_id])
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


def parse_roadmap(root: Path, check_files: bool = True, filename: str = "roadmap.yaml",
                  overlay: str | None = None) -> Roadmap:
    """Read and validate the roadmap; raise `RoadmapError` on the first problem.

    With `overlay` (the learner's my-roadmap.yaml, if that file exists), the result is the
    learner's roadmap: the course's own with their additions, skips, order and pace applied.
    """
    roadmap, located = _parse_course(root, check_files, filename)
    if overlay and (root / overlay).is_file():
        from retreat.overlay import apply_overlay

        roadmap = apply_overlay(root, roadmap, located, overlay, check_files)
    return roadmap


def check_format_version(doc: YamlDoc, data: dict) -> int:
    """The file's format_version, which must be the one this retreat reads (roadmap and overlay alike)."""
    version = data.get("format_version")
    if version is None:
        raise doc.fail((), "format_version", f"required field is missing (this retreat reads version {FORMAT_VERSION})")
    if version != FORMAT_VERSION:
        raise doc.fail(("format_version",), "format_version",
                       f"version {version!r} is not supported; this retreat reads version {FORMAT_VERSION}")
    return version


def _parse_course(root: Path, check_files: bool, filename: str) -> tuple[Roadmap, list]:
    """The course's own roadmap, and every item located as (item, its YamlDoc, its key path)."""
    doc = YamlDoc(root / filename, filename)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.fail((), None, "expected a mapping with format_version, course and stages")
    version = check_format_version(doc, data)
    unknown = set(data) - {"format_version", "course", "stages"}
    if unknown:
        key = sorted(unknown)[0]
        raise doc.fail((key,), key, "unknown field (expected format_version, course, stages)")
    if "course" not in data:
        raise doc.fail((), "course", "required field is missing")
    course = validate(Course, data["course"], doc, ("course",), "course")
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise doc.fail(("stages",), "stages", "expected a non-empty list of stages")
    stages, located, files = [], [], [filename]
    stage_ids: set[str] = set()
    for s, raw in enumerate(raw_stages):
        sp = ("stages", s)
        if not isinstance(raw, dict):
            raise doc.fail(sp, f"stages[{s}]", "expected a mapping with id, title, dir and items or include")
        for key in ("id", "title", "dir"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                raise doc.fail(sp + (key,), f"stages[{s}].{key}", "required text field is missing or empty")
        extra = set(raw) - {"id", "title", "dir", "summary", "items", "include"}
        if extra:
            key = sorted(extra)[0]
            raise doc.fail(sp + (key,), f"stages[{s}].{key}", "unknown field")
        if raw["id"] in stage_ids:
            raise doc.fail(sp + ("id",), f"stages[{s}].id", f"duplicate stage id {raw['id']!r}")
        stage_ids.add(raw["id"])
        if ("items" in raw) == ("include" in raw):
            raise doc.fail(sp, f"stage {raw['id']!r}", "give exactly one of 'items' or 'include'")
        if "include" in raw:
            includes = raw["include"] if isinstance(raw["include"], list) else [raw["include"]]
            items = []
            for n, inc in enumerate(includes):
                ip = sp + ("include",) + ((n,) if isinstance(raw["include"], list) else ())
                if not isinstance(inc, str):
                    raise doc.fail(ip, f"stage {raw['id']!r}.include", "expected a file path or a list of them")
                if not (root / inc).is_file():
                    raise doc.fail(ip, f"stage {raw['id']!r}.include", f"file not found: {inc}")
                sdoc = YamlDoc(root / inc, inc)
                files.append(inc)
                if not isinstance(sdoc.data, dict) or set(sdoc.data) != {"items"}:
                    raise sdoc.fail((), None, "an included stage file holds one key, 'items', a list of items")
                items.extend(load_items(sdoc.data["items"] or [], sdoc, ("items",), raw["id"]))
            source = includes[0]
        else:
            items = load_items(raw["items"], doc, sp + ("items",), raw["id"])
            source = filename
        located.extend(items)
        stages.append(Stage(id=raw["id"], title=raw["title"], dir=raw["dir"], summary=str(raw.get("summary", "")),
                            items=tuple(i for i, _, _ in items), source=source))
    check_graph(located, root, check_files)
    return Roadmap(format_version=version, course=course, stages=tuple(stages), files=tuple(files)), located


def _fingerprint(root: Path, files: tuple[str, ...], overlay: str | None) -> str:
    h = hashlib.sha256(str(_CACHE_VERSION).encode())
    for rel in files:
        try:
            h.update(rel.encode() + b"\0" + (root / rel).read_bytes())
        except OSError:
            return ""
    if overlay:  # whether the learner's overlay exists is part of the key, and so is its content
        try:
            h.update(b"overlay\0" + overlay.encode() + b"\0" + (root / overlay).read_bytes())
        except FileNotFoundError:
            h.update(b"no overlay\0" + overlay.encode())
        except OSError:
            return ""
    return h.hexdigest()


def load_roadmap(root: Path, cache_dir: Path | None = None, overlay: str | None = None) -> Roadmap:
    """The validated roadmap (with the learner's `overlay` applied, if given and present), from the
    cache when no file it depends on changed since it was written."""
    cache = cache_dir / ("roadmap+overlay.pickle" if overlay else "roadmap.pickle") if cache_dir else None
    if cache and cache.is_file():
        try:
            key, files, roadmap = pickle.loads(cache.read_bytes())
            if key and key == _fingerprint(root, files, overlay) and _files_present(root, roadmap):
                return roadmap
        except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
            pass
    roadmap = parse_roadmap(root, overlay=overlay)
    if cache:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps((_fingerprint(root, roadmap.files, overlay), roadmap.files, roadmap)))
            tmp.replace(cache)
        except OSError:
            pass
    return roadmap


def _files_present(root: Path, roadmap: Roadmap) -> bool:
    return all((root / e.solution).is_file() and (root / e.tests).is_file() for e in roadmap.exercises)
