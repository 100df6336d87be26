"""The one place that knows where things are: the course root, the state folder, an item's files,
and how to import an exercise, its solution or a stand-in (a mutant, a review copy) as a module."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from retreat.errors import CourseNotFound, UsageProblem
from retreat.roadmap import Exercise, Roadmap

ROADMAP_FILE = "roadmap.yaml"
OVERLAY_FILE = "my-roadmap.yaml"  # the learner's own additions, skips, order and pace (retreat/overlay.py)
JOURNAL_DIR = "journal"  # the learner's notes, one <item id>.md each; course updates never touch it
ENV_JOURNAL = "RETREAT_JOURNAL"
# The grader sets these in the child process that runs a test module.
ENV_COURSE = "RETREAT_COURSE"
ENV_HOME = "RETREAT_HOME"
ENV_TARGET = "RETREAT_TARGET"  # "exercise" (default) or "solution": what load_exercise() imports
ENV_OVERRIDES = "RETREAT_OVERRIDES"  # JSON {item id: file}: import this file instead (mutants, reviews)


def find_course_root(start: Path | None = None) -> Path:
    """The course root: $RETREAT_COURSE, or the nearest folder upward holding roadmap.yaml."""
    env = os.environ.get(ENV_COURSE)
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / ROADMAP_FILE).is_file():
            raise CourseNotFound(f"{ENV_COURSE}={env} has no {ROADMAP_FILE}")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ROADMAP_FILE).is_file():
            return folder
    raise CourseNotFound(
        f"no {ROADMAP_FILE} in {here} or any folder above it: run retreat inside a course "
        f"(the folder you cloned), or set {ENV_COURSE}"
    )


@dataclass
class Course:
    root: Path
    personal: bool = True
    """Lay the learner's my-roadmap.yaml over the course's roadmap (off for course-author checks)."""

    @classmethod
    def find(cls, start: Path | None = None, personal: bool = True) -> Course:
        return cls(find_course_root(start), personal)

    @cached_property
    def state_dir(self) -> Path:
        """Where the learner's state lives: $RETREAT_HOME, or .retreat/ under the course root."""
        env = os.environ.get(ENV_HOME)
        return Path(env).expanduser().resolve() if env else self.root / ".retreat"

    @cached_property
    def roadmap(self) -> Roadmap:
        from retreat.roadmap_load import load_roadmap

        return load_roadmap(self.root, cache_dir=self.state_dir / "cache",
                            overlay=OVERLAY_FILE if self.personal else None)

    @cached_property
    def journal_dir(self) -> Path:
        """The learner's notes: $RETREAT_JOURNAL, or journal/ under the course root."""
        env = os.environ.get(ENV_JOURNAL)
        return Path(env).expanduser().resolve() if env else self.root / JOURNAL_DIR

    def exercise(self, item_id: str) -> Exercise:
        item = self.roadmap.get(item_id)
        if not isinstance(item, Exercise):
            raise UsageProblem(f"{item_id!r} is a {item.kind}, not an exercise")
        return item

    def path(self, rel: str) -> Path:
        return self.root / rel

    def learner_file(self, ex: Exercise) -> Path:
        return self.root / ex.exercise

    def solution_file(self, ex: Exercise) -> Path:
        return self.root / ex.solution

    def mutants_file(self, ex: Exercise) -> Path:
        """Mutants sit beside the solution: solutions/<stage>/<name>.mutants.yaml."""
        return self.root / (ex.solution[: -len(".py")] + ".mutants.yaml")


_course_cache: dict[str, Course] = {}


def current_course() -> Course:
    key = f"{os.environ.get(ENV_COURSE, '')}|{Path.cwd()}|{os.environ.get(ENV_HOME, '')}"
    if key not in _course_cache:
        _course_cache[key] = Course.find()
    return _course_cache[key]


# Called before any course module runs; the grading plugin snapshots the test helpers here.
BEFORE_COURSE_IMPORT: list = []


def import_file(path: Path, module_name: str) -> ModuleType:
    """Import a Python file as a fresh module registered under `module_name`."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (retreat reset restores a missing exercise file)")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    for hook in BEFORE_COURSE_IMPORT:
        hook()
    sys.modules[module_name] = module  # dataclasses and pickling look the module up here
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[module_name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ExerciseLoadError(_load_failure(path, exc)) from exc
    return module


class ExerciseLoadError(ImportError):
    """A course file could not be imported; the message names the file and line."""


def _load_failure(path: Path, exc: BaseException) -> str:
    rel = _relative(path)
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__} in {rel}, line {exc.lineno}: {exc.msg}"
    if isinstance(exc, SystemExit):
        return f"{rel} called sys.exit({exc.code!r}) while being imported; an exercise must not exit"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f", line {line}" if line else ""
    return f"{type(exc).__name__} while importing {rel}{where}: {exc}"


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(current_course().root).as_posix()
    except (ValueError, CourseNotFound):
        return str(path)


def _module_name(kind: str, item_id: str) -> str:
    return f"retreat_course.{kind}.{item_id.replace('-', '_')}"


def load_exercise(item_id: str) -> ModuleType:
    """Import the learner's module for an exercise (or, under the grader, the module being graded)."""
    course = current_course()
    overrides = json.loads(os.environ.get(ENV_OVERRIDES) or "{}")
    if item_id in overrides:
        return import_file(Path(overrides[item_id]), _module_name("override", item_id))
    if os.environ.get(ENV_TARGET) == "solution":
        return load_solution(item_id)
    ex = course.exercise(item_id)
    return import_file(course.learner_file(ex), _module_name("exercise", item_id))


def load_solution(item_id: str) -> ModuleType:
    """Import the reference solution of an exercise."""
    course = current_course()
    ex = course.exercise(item_id)
    return import_file(course.solution_file(ex), _module_name("solution", item_id))


def load_support(name: str) -> ModuleType:
    """Import a course support module, support/<name>.py (shared data generators, tiny models)."""
    course = current_course()
    return import_file(course.root / "support" / f"{name}.py", f"retreat_course.support.{name}")
