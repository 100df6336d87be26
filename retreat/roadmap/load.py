"""Read roadmap.yaml (and the stage files it includes) into a validated `Roadmap`, with the
learner's my-roadmap.yaml laid over it (overlay.py).

Every error names the file, the line and the field (validate.py). Validation costs a pydantic
import, so the result is cached under the state directory, keyed on the content of every file it
was read from. The cache is JSON, read back into the model's dataclasses field by field: reading
it runs no code, whoever wrote it, and a cache that does not read back is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from retreat.files import atomic_write
from retreat.roadmap.model import ITEM_KINDS, CourseInfo, Question, Resource, Roadmap, Stage
from retreat.roadmap.overlay import apply_overlay
from retreat.roadmap.validate import YamlDoc, check_format_version, check_graph, load_items, validate

ROADMAP_FILE = "roadmap.yaml"
_CACHE_VERSION = 6  # 6: JSON (before: pickles, which run code when read)


def parse_roadmap(root: Path, check_files: bool = True, filename: str = ROADMAP_FILE,
                  overlay: str | None = None) -> Roadmap:
    """Read and validate the roadmap; raise `RoadmapError` on the first problem.

    With `overlay` (the learner's my-roadmap.yaml, if that file exists), the result is the
    learner's roadmap: the course's own with their additions, skips, order and pace applied.
    """
    roadmap, located = _parse_course(root, check_files, filename)
    if overlay and (root / overlay).is_file():
        roadmap = apply_overlay(root, roadmap, located, overlay, check_files)
    return roadmap


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
    course = validate(CourseInfo, data["course"], doc, ("course",), "course")
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
    cache = cache_dir / ("roadmap+overlay.json" if overlay else "roadmap.json") if cache_dir else None
    if cache and cache.is_file():
        try:
            saved = json.loads(cache.read_bytes())
            files = tuple(saved["files"])
            if saved["key"] and saved["key"] == _fingerprint(root, files, overlay):
                roadmap = thaw(saved["roadmap"])
                if roadmap.files == files and _files_present(root, roadmap):
                    return roadmap
        except Exception:  # any unreadable cache is simply rebuilt
            pass
    roadmap = parse_roadmap(root, overlay=overlay)
    if cache:
        try:
            atomic_write(cache, json.dumps({"key": _fingerprint(root, roadmap.files, overlay),
                                            "files": roadmap.files, "roadmap": asdict(roadmap)}))
            for old in cache_dir.glob("roadmap*.pickle"):  # from before the cache was JSON: never read
                old.unlink()
        except OSError:
            pass
    return roadmap


def thaw(data: dict[str, Any]) -> Roadmap:
    """A roadmap from its JSON form (`dataclasses.asdict` of it): every list back to a tuple, every
    nested object back to its dataclass, an item by its kind. Anything else raises."""
    def items(raw: list) -> tuple:
        out = []
        for item in raw:
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
            if "resources" in fields:
                fields["resources"] = tuple(Resource(**r) for r in fields["resources"])
            if "questions" in fields:
                fields["questions"] = tuple(Question(**{k: tuple(v) if isinstance(v, list) else v
                                                        for k, v in q.items()}) for q in fields["questions"])
            out.append(ITEM_KINDS[fields["kind"]](**fields))
        return tuple(out)

    return Roadmap(format_version=data["format_version"], course=CourseInfo(**data["course"]),
                   stages=tuple(Stage(**dict(s, items=items(s["items"]))) for s in data["stages"]),
                   files=tuple(data["files"]), skipped=tuple(data["skipped"]), added=tuple(data["added"]))


def _files_present(root: Path, roadmap: Roadmap) -> bool:
    return all((root / e.solution).is_file() and (root / e.tests).is_file() for e in roadmap.exercises)
