"""Challenge mode, the learner's choice (`challenge: true` in my-roadmap.yaml, or `retreat challenge
on|off`): stubs keep the contract and docstrings but not the step-by-step TODO text, and the hints
at the end of an item's list that contain code (a `code span` or a $formula$) are withheld. The
first hint is always shown. Switching rewrites only exercise files still equal to a stub; a file the
learner edited keeps its text until `retreat reset ID` (which keeps a copy first)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from retreat.course import Course
from retreat.files import atomic_write
from retreat.markers import make_stub
from retreat.roadmap.overlay import OVERLAY_FILE

_CODE = re.compile(r"`[^`]+`|\$[^$]+\$")


def challenge_on(course: Course) -> bool:
    """Whether the learner's my-roadmap.yaml says `challenge: true` (a broken file says no here;
    loading the roadmap reports it)."""
    path = course.root / OVERLAY_FILE
    if not path.is_file():
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("challenge") is True


def has_code(hint: str) -> bool:
    return bool(_CODE.search(hint))


def challenge_hints(hints: tuple[str, ...] | list[str]) -> list[str]:
    """The hints shown in challenge mode: the trailing ones with code dropped, the first one kept."""
    kept = list(hints)
    while len(kept) > 1 and has_code(kept[-1]):
        kept.pop()
    return kept


def stub_for(course: Course, ex, challenge: bool | None = None) -> str:
    """The exercise's stub as this learner gets it (challenge mode or not)."""
    on = challenge_on(course) if challenge is None else challenge
    return make_stub(course.solution_file(ex).read_text(encoding="utf-8"), ex.solution, challenge=on)


def is_stub(path: Path, stub: str) -> bool:
    """Whether a learner's file still holds `stub`, read as Python reads it (an editor that saved it
    with CRLF or a BOM changed nothing); an unreadable file is not the stub."""
    from retreat.source import SourceError, read_source

    try:
        return read_source(path) == stub
    except (OSError, SourceError):
        return False


def set_challenge(course: Course, on: bool) -> list[str]:
    """Write `challenge:` into my-roadmap.yaml (comments kept) and rewrite the untouched stubs;
    return lines saying what changed and what did not."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from retreat.roadmap.model import Exercise

    path = course.root / OVERLAY_FILE
    y = YAML()
    y.preserve_quotes = True
    data = y.load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(data, dict):
        data = CommentedMap(format_version=1)
    data["challenge"] = on
    out = io.StringIO()
    y.dump(data, out)
    atomic_write(path, out.getvalue())

    switched, kept = [], []
    for stage in course.roadmap.stages:
        for ex in stage.items:
            if not isinstance(ex, Exercise) or not course.solution_file(ex).is_file():
                continue
            target = course.learner_file(ex)
            old, new = stub_for(course, ex, not on), stub_for(course, ex, on)
            if not target.is_file() or is_stub(target, new):
                continue
            if is_stub(target, old):
                atomic_write(target, new)
                switched.append(ex.id)
            else:
                kept.append(ex.id)
    lines = [f"{len(switched)} untouched exercise files now have the {'challenge' if on else 'guided'} stub"]
    if kept:
        lines.append(f"{len(kept)} files you edited keep your text ({', '.join(kept[:5])}"
                     f"{'...' if len(kept) > 5 else ''}); 'retreat reset ID' writes the new stub, keeping a copy")
    return lines
