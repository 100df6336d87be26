"""The grading lock: what an official grade was graded with.

`retreat.lock`, at the course root, records (format 2):
- the sha256 of every file that decides a grade: each exercise's test module, reference solution
  and mutants; the roadmap files; the course code the tests share (support/); every conftest.py
  pytest can load while grading (the course root's and those of every folder down to a test
  module); the pytest configuration files in those folders (pytest.ini, .pytest.ini, pytest.toml,
  tox.ini, setup.cfg, and pyproject.toml's [tool.pytest] section alone); the Python files in the
  course root;
- the digest of the engine's grading code (retreat/grading/, loader.py, testing.py, env.py of the
  installed retreat), so a grade made by another engine is not taken for the course's;
- per exercise, the test ids its module collects ("tests"): a pass needs every one of them
  reported as passed (verdict.py), whatever the child happened to collect.

`retreat dev lock` writes it (collecting the ids with one `pytest --collect-only` run against the
reference solutions), and a whole-course `retreat dev check` that finds the course sound refreshes
it. `retreat check` compares: when a locked file or the engine differs, or a conftest.py was added
where pytest would load it, the grade is still given and recorded, but marked unofficial, with
what changed. A course without a lock file makes no claim, so nothing is marked.

What is not locked, and why: a pytest configuration file or a root Python file added after the
lock cannot reach a grading run (the child runs with the engine's own pytest configuration and
never has the course root on its path: child.py), so a learner's scratch `random.py` or
`pytest.ini` leaves grades official; a new conftest.py would be loaded, so it does not.

Line endings are normalised before hashing (a Windows checkout with autocrlf locks the same).
The lock detects edits, not a determined forger who rewrites the lock too: CI that must trust a
grade compares retreat.lock with the course's own (see docs/guide/classroom.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import retreat
import retreat.env as env
from retreat.course import Course
from retreat.errors import RetreatError
from retreat.files import atomic_write
from retreat.grading.child import clean_environ, limits_for, pytest_args, run_supervised, write_pytest_ini
from retreat.grading.verdict import read_events
from retreat.roadmap import Exercise

LOCK_FILE = "retreat.lock"
LOCK_FORMAT = 2
ENGINE_KEY = "retreat's grading code"
ENGINE_ROOT = Path(retreat.__file__).resolve().parent.parent
PYTEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "setup.cfg")
PYPROJECT_SECTION = " [tool.pytest]"
COLLECT_TIMEOUT = 300.0


class LockError(RetreatError):
    """The lock cannot be written (a test module does not collect); one line."""


def digest(path: Path) -> str | None:
    """sha256 of a file's bytes with CRLF read as LF; None if it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _pytest_section(path: Path) -> str | None:
    """sha256 of pyproject.toml's [tool.pytest] table alone (other tables do not change grading)."""
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("pytest")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    if section is None:
        return None
    return hashlib.sha256(json.dumps(section, sort_keys=True, default=str).encode()).hexdigest()


def entry_digest(root: Path, key: str) -> str | None:
    """The current digest of a locked entry: a file, or a pyproject.toml's pytest section."""
    if key.endswith(PYPROJECT_SECTION):
        return _pytest_section(root / key.removesuffix(PYPROJECT_SECTION))
    return digest(root / key)


def engine_files() -> list[Path]:
    """The installed engine's files that decide a grade."""
    pkg = ENGINE_ROOT / "retreat"
    return sorted([*(pkg / "grading").glob("*.py"), pkg / "loader.py", pkg / "testing.py", pkg / "env.py"])


def engine_digest() -> str:
    """One sha256 over the engine's grading code (names and contents, line endings normalised)."""
    h = hashlib.sha256()
    for path in engine_files():
        h.update(path.relative_to(ENGINE_ROOT).as_posix().encode() + b"\0")
        h.update((path.read_bytes() if path.is_file() else b"").replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()


def exercise_files(course: Course, ex: Exercise) -> list[str]:
    """The files of one exercise that decide its grade, relative to the course root."""
    mutants = course.mutants_file(ex).relative_to(course.root).as_posix()
    return [ex.tests, ex.solution, mutants]


def _pytest_dirs(root: Path, test_modules: list[str]) -> list[Path]:
    """The folders pytest looks into for conftest.py when it runs these modules: the course root
    and every folder down to each module (the runner sets --confcutdir to the root)."""
    dirs = {root}
    for rel in test_modules:
        folder = (root / rel).parent
        while folder != root and root in folder.parents:
            dirs.add(folder)
            folder = folder.parent
    return sorted(dirs)


def conftest_files(root: Path, test_modules: list[str]) -> list[str]:
    """The conftest.py files pytest would load for these modules, relative to the root."""
    return [(d / "conftest.py").relative_to(root).as_posix() for d in _pytest_dirs(root, test_modules)
            if (d / "conftest.py").is_file()]


def shared_files(course: Course, test_modules: list[str]) -> list[str]:
    """Everything but an exercise's own files that can change a grade, as lock keys: conftest.py
    files, pytest configuration (pyproject.toml's pytest section as 'pyproject.toml [tool.pytest]'),
    the course root's Python files, and support/."""
    root = course.root
    keys = set(conftest_files(root, test_modules))
    for d in _pytest_dirs(root, test_modules):
        keys |= {(d / name).relative_to(root).as_posix() for name in PYTEST_CONFIGS if (d / name).is_file()}
        if _pytest_section(d / "pyproject.toml") is not None:
            keys.add((d / "pyproject.toml").relative_to(root).as_posix() + PYPROJECT_SECTION)
    keys |= {p.name for p in root.glob("*.py") if p.is_file()}
    support = root / "support"
    if support.is_dir():
        keys |= {p.relative_to(root).as_posix() for p in support.rglob("*") if p.is_file()
                 and "__pycache__" not in p.parts and not p.name.endswith((".pyc", ".pyo"))}
    return sorted(keys)


def collect_tests(course: Course, exercises: list[Exercise]) -> dict[str, list[str]]:
    """The test ids each exercise's module collects against its reference solution, in collection
    order: one `pytest --collect-only` run in a grading child, as a check would collect them."""
    modules = sorted({ex.tests for ex in exercises})
    if not modules:
        return {}
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="retreat-lock-") as tmp:
        report = Path(tmp) / "report.jsonl"
        environ = clean_environ(os.environ)
        environ.update({env.COURSE: str(course.root), env.HOME: str(course.state_dir), env.TARGET: "solution",
                        env.OVERRIDES: "{}", env.REPORT: str(report), env.RUN_ID: run_id})
        args = pytest_args(course.root, modules, write_pytest_ini(Path(tmp)), collect_only=True)
        _, timed_out, tail = run_supervised(args, environ, course.root, COLLECT_TIMEOUT,
                                            limits_for(None, COLLECT_TIMEOUT))
        events, oversized = read_events(report, run_id)
    errors = [e for e in events if e.get("event") == "collect_error"]
    if errors:
        raise LockError(f"cannot lock the course: {errors[0].get('nodeid') or 'a test module'} does not collect "
                        f"({errors[0].get('message', '')})")
    if timed_out or oversized or not any(e.get("event") == "finished" for e in events):
        last = tail.strip().splitlines()[-1:] or ["no output"]
        raise LockError(f"cannot lock the course: collecting its tests failed ({last[0]})")
    ids: dict[str, list[str]] = {}
    collected = [str(e.get("nodeid")) for e in events if e.get("event") == "collected"]
    for ex in exercises:
        ids[ex.id] = [n for n in collected if n.split("::", 1)[0] == ex.tests]
    return ids


def build_lock(course: Course) -> dict:
    """The lock of the course as it is now (the course's own roadmap, without the learner's overlay)."""
    own_course = Course(course.root, personal=False)
    own = own_course.roadmap

    def hashes(paths: list[str]) -> dict[str, str | None]:
        return {rel: entry_digest(course.root, rel) for rel in paths}

    return {
        "format": LOCK_FORMAT,
        "algorithm": "sha256",
        "about": "Written by 'retreat dev lock' (and a sound 'retreat dev check'); 'retreat check' compares.",
        "engine": {ENGINE_KEY: engine_digest()},
        "roadmap": hashes(list(own.files)),
        "shared": hashes(shared_files(course, [ex.tests for ex in own.exercises])),
        "exercises": {ex.id: hashes(exercise_files(course, ex)) for ex in own.exercises},
        "tests": collect_tests(own_course, list(own.exercises)),
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


def _read(course: Course) -> dict:
    """The course's lock as a dict; ValueError (or OSError) when it cannot be read or has another format."""
    lock = json.loads((course.root / LOCK_FILE).read_text(encoding="utf-8"))
    if not isinstance(lock, dict) or lock.get("format") != LOCK_FORMAT:
        raise ValueError(f"format {lock.get('format') if isinstance(lock, dict) else None!r} is not {LOCK_FORMAT}")
    return lock


def stale_entries(course: Course) -> list[str]:
    """How the committed lock differs from the course (for `retreat dev lock --check`)."""
    path = course.root / LOCK_FILE
    if not path.is_file():
        return [f"{LOCK_FILE} is missing"]
    try:
        current = _read(course)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [f"{LOCK_FILE} cannot be read: {exc}"]
    fresh = build_lock(course)
    out = []
    for section in ("engine", "roadmap", "shared", "exercises", "tests"):
        old, new = current.get(section) or {}, fresh[section]
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f"{section}: {key} is locked but no longer in the course")
            elif key not in old:
                out.append(f"{section}: {key} is not locked")
            elif old[key] == new[key]:
                continue
            elif section == "exercises":
                out.append(f"exercise {key}: " + ", ".join(sorted(
                    k for k in set(old[key]) | set(new[key]) if old[key].get(k) != new[key].get(k))) + " changed")
            elif section == "tests":
                out.append(f"exercise {key}: the test ids its module collects changed")
            else:
                out.append(f"{section}: {key} changed")
    return out


@dataclass(frozen=True)
class _Entry:
    key: str
    sha: str | None


def _entries(lock: dict, item_id: str) -> list[_Entry]:
    """Every locked entry, the exercise's own first: its change is the one to name."""
    own = lock.get("exercises", {}).get(item_id, {})
    rest: list[tuple[str, str | None]] = []
    for section in ("roadmap", "shared", "engine"):
        rest += list((lock.get(section) or {}).items())
    for other, files in sorted((lock.get("exercises") or {}).items()):
        if other != item_id and isinstance(files, dict):
            rest += list(files.items())
    seen: set[str] = set()
    out = []
    for key, sha in [*own.items(), *rest]:
        if key not in seen:
            seen.add(key)
            out.append(_Entry(key, sha))
    return out


def _current(root: Path, key: str) -> str | None:
    return engine_digest() if key == ENGINE_KEY else entry_digest(root, key)


def unofficial_reason(course: Course, item_id: str) -> str | None:
    """Why a grade of `item_id` now would be unofficial, in one line; None when it is official
    (or the course has no lock, so it claims nothing)."""
    if not (course.root / LOCK_FILE).is_file():
        return None
    try:
        lock = _read(course)
        entries = _entries(lock, item_id)
        shared = set(lock.get("shared") or {})
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError) as exc:
        return f"{LOCK_FILE} cannot be read ({exc}): this grade is unofficial"
    if item_id in course.roadmap.added:
        return f"{item_id} is your own exercise (my-roadmap.yaml), not part of the locked course: " \
               "this grade is unofficial"
    if item_id not in lock.get("exercises", {}):
        return f"{item_id} is not in {LOCK_FILE} (the course changed since it was locked): " \
               "this grade is unofficial"
    changed = [e.key for e in entries if _current(course.root, e.key) != e.sha]
    if changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        return f"{changed[0]}{more} changed since the course was locked: this grade is unofficial"
    ex = course.exercise(item_id)
    added = [c for c in conftest_files(course.root, [ex.tests]) if c not in shared]
    if added:
        return f"{added[0]} was added since the course was locked: this grade is unofficial"
    return None


def expected_tests(course: Course, ex: Exercise) -> list[str] | None:
    """The test ids a pass of `ex` requires, as retreat.lock records them; None when the lock makes
    no claim about the test module as it is now (no lock, another format, the exercise not locked,
    or its test module changed since: that grade is unofficial, and its own tests decide)."""
    try:
        lock = _read(course)
        ids = (lock.get("tests") or {}).get(ex.id)
        locked = ((lock.get("exercises") or {}).get(ex.id) or {}).get(ex.tests)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError):
        return None
    if not isinstance(ids, list) or locked is None or locked != digest(course.root / ex.tests):
        return None
    return [str(i) for i in ids]
