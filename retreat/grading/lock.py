"""The grading lock: what an official grade was graded with.

`retreat.lock`, at the course root, records the sha256 of every file that decides a grade: each
exercise's test module, reference solution and mutants, the roadmap files, and the course code
the tests share (conftest.py files, support/). `retreat dev lock` writes it, and a whole-course
`retreat dev check` that finds the course sound refreshes it. `retreat check` compares: when a
locked file differs, the grade is still given and recorded, but marked unofficial, with the file
that changed. A course without a lock file makes no claim, so nothing is marked.

Line endings are normalised before hashing (a Windows checkout with autocrlf locks the same).
The lock detects edits, not a determined forger who rewrites the lock too: CI that must trust a
grade compares retreat.lock with the course's own (see docs/guide/classroom.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from retreat.course import Course
from retreat.files import atomic_write
from retreat.roadmap import Exercise

LOCK_FILE = "retreat.lock"
LOCK_FORMAT = 1


def digest(path: Path) -> str | None:
    """sha256 of a file's bytes with CRLF read as LF; None if it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def exercise_files(course: Course, ex: Exercise) -> list[str]:
    """The files of one exercise that decide its grade, relative to the course root."""
    mutants = course.mutants_file(ex).relative_to(course.root).as_posix()
    return [ex.tests, ex.solution, mutants]


def shared_files(course: Course, stage_dirs: list[str]) -> list[str]:
    """Course code every test may use: conftest.py files pytest loads, and support/."""
    root = course.root
    candidates = [root / "conftest.py", root / "tests" / "conftest.py",
                  *(root / "tests" / d / "conftest.py" for d in stage_dirs)]
    support = root / "support"
    if support.is_dir():
        candidates += [p for p in support.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and not p.name.endswith((".pyc", ".pyo"))]
    return sorted({p.relative_to(root).as_posix() for p in candidates if p.is_file()})


def build_lock(course: Course) -> dict:
    """The lock of the course as it is now (the course's own roadmap, without the learner's overlay)."""
    own = Course(course.root, personal=False).roadmap

    def hashes(paths: list[str]) -> dict[str, str | None]:
        return {rel: digest(course.root / rel) for rel in paths}

    return {
        "format": LOCK_FORMAT,
        "algorithm": "sha256",
        "about": "Written by 'retreat dev lock' (and a sound 'retreat dev check'); 'retreat check' compares.",
        "roadmap": hashes(list(own.files)),
        "shared": hashes(shared_files(course, [s.dir for s in own.stages])),
        "exercises": {ex.id: hashes(exercise_files(course, ex)) for ex in own.exercises},
    }


def render_lock(lock: dict) -> str:
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def write_lock(course: Course) -> tuple[Path, bool]:
    """Write retreat.lock; return its path and whether its content changed."""
    path = course.root / LOCK_FILE
    text = render_lock(build_lock(course))
    try:
        if path.read_text(encoding="utf-8") == text:
            return path, False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write(path, text)
    return path, True


def stale_entries(course: Course) -> list[str]:
    """How the committed lock differs from the course (for `retreat dev lock --check`)."""
    path = course.root / LOCK_FILE
    if not path.is_file():
        return [f"{LOCK_FILE} is missing"]
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [f"{LOCK_FILE} cannot be read: {exc}"]
    fresh = build_lock(course)
    out = []
    for section in ("roadmap", "shared", "exercises"):
        old, new = current.get(section) or {}, fresh[section]
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f"{section}: {key} is locked but no longer in the course")
            elif key not in old:
                out.append(f"{section}: {key} is not locked")
            elif old[key] != new[key]:
                out.append(f"{section}: {key} changed" if section != "exercises"
                           else f"exercise {key}: " + ", ".join(sorted(
                               k for k in set(old[key]) | set(new[key]) if old[key].get(k) != new[key].get(k)))
                           + " changed")
    return out


@dataclass(frozen=True)
class _Entry:
    rel: str
    sha: str | None


def _entries(lock: dict, item_id: str) -> list[_Entry]:
    """Every locked file, the exercise's own first: its change is the one to name."""
    own = lock.get("exercises", {}).get(item_id, {})
    rest: list[tuple[str, str | None]] = []
    for section in ("roadmap", "shared"):
        rest += list((lock.get(section) or {}).items())
    for other, files in sorted((lock.get("exercises") or {}).items()):
        if other != item_id and isinstance(files, dict):
            rest += list(files.items())
    seen: set[str] = set()
    out = []
    for rel, sha in [*own.items(), *rest]:
        if rel not in seen:
            seen.add(rel)
            out.append(_Entry(rel, sha))
    return out


def unofficial_reason(course: Course, item_id: str) -> str | None:
    """Why a grade of `item_id` now would be unofficial, in one line; None when it is official
    (or the course has no lock, so it claims nothing)."""
    path = course.root / LOCK_FILE
    if not path.is_file():
        return None
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(lock, dict) or lock.get("format") != LOCK_FORMAT:
            raise ValueError(f"format {lock.get('format') if isinstance(lock, dict) else None!r} "
                             f"is not {LOCK_FORMAT}")
        entries = _entries(lock, item_id)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError) as exc:
        return f"{LOCK_FILE} cannot be read ({exc}): this grade is unofficial"
    if item_id in course.roadmap.added:
        return f"{item_id} is your own exercise (my-roadmap.yaml), not part of the locked course: " \
               "this grade is unofficial"
    if item_id not in lock.get("exercises", {}):
        return f"{item_id} is not in {LOCK_FILE} (the course changed since it was locked): " \
               "this grade is unofficial"
    changed = [e.rel for e in entries if digest(course.root / e.rel) != e.sha]
    if not changed:
        return None
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    return f"{changed[0]}{more} changed since the course was locked: this grade is unofficial"
