"""Import course files as modules: the learner's exercise (or, under the grader, the file being
graded), its reference solution, a support module. `retreat.load_exercise` and friends call here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import retreat.env as env
from retreat.course import current_course
from retreat.errors import CourseNotFound

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
    if isinstance(exc, SyntaxError | ValueError):
        # A file Python cannot decode: Python gives no line for a NUL byte, and hides the line of
        # an undecodable byte in its message.
        from retreat.source import SourceError, read_source

        try:
            read_source(path, rel)
        except SourceError as problem:
            return str(problem)
        except OSError:
            pass
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
    overrides = env.overrides()
    if item_id in overrides:
        return import_file(Path(overrides[item_id]), _module_name("override", item_id))
    if env.get(env.TARGET) == "solution":
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
