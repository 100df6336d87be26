"""The pytest plugin loaded in the grading child (and by the course's tests/conftest.py).

It seeds every test, and when RETREAT_REPORT (retreat/env.py) names a file it appends a structured report there:
one JSON line per collected test and per outcome, then a final line carrying the run id. The
parent trusts a pass only when that final line is present, its run id matches, and every
expected test is listed as passed. A run that exits early never writes the final line. The
report stays under verdict.REPORT_LIMIT: messages, docstrings and facts are cut, and past the
limit the plugin writes one "overflow" line and nothing more (not even the final line).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import pytest

import retreat.env as env
from retreat.grading.verdict import REPORT_LIMIT

_MAX_MESSAGE = 4000
_MAX_FACTS = 16_384  # bytes of JSON: the facts of a tensor mismatch take a few hundred


class _Report:
    def __init__(self, path: str, run_id: str, limit: int = REPORT_LIMIT) -> None:
        # Unbuffered: a child that calls os._exit() still leaves every line it wrote.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.run_id = run_id
        self.collected = 0
        self.limit = limit
        self.written = 0
        self.full = False

    def write(self, event: str, **fields: Any) -> None:
        if self.full:
            return
        line = (json.dumps({"event": event, "run_id": self.run_id, **fields}, default=str) + "\n").encode()
        if self.written + len(line) > self.limit - 256:  # room kept for the overflow line
            self.full = True
            line = (json.dumps({"event": "overflow", "run_id": self.run_id}) + "\n").encode()
        os.write(self._fd, line)
        self.written += len(line)


_report: _Report | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _report
    # The report's location and run id stay with the plugin: code under test cannot read them
    # from the environment to write a report of its own.
    path, run_id = os.environ.pop(env.REPORT, None), os.environ.pop(env.RUN_ID, None)
    if path and run_id and _report is None:
        _report = _Report(path, run_id)
        from retreat.loader import BEFORE_COURSE_IMPORT

        BEFORE_COURSE_IMPORT.append(_snapshot_helpers)
    forbidden = env.forbidden()
    graded = env.get(env.GRADED)
    if forbidden and graded:
        from retreat.grading.forbid import install_guards

        install_guards(forbidden, graded)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)


def pytest_collection_finish(session: pytest.Session) -> None:
    # torch.testing.assert_close imports torch.distributed.tensor (hundreds of modules) on its first
    # call; importing it here charges that to collection, not to whichever test happens to run first.
    if "torch" in sys.modules:
        try:
            import torch.distributed.tensor  # noqa: F401
        except Exception:  # an optional speed-up, never a reason to fail
            pass


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if _report is None:
        return
    if report.failed:
        _report.write("collect_error", nodeid=report.nodeid, message=_collect_message(report))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _report is None:
        return
    for item in items:
        doc = getattr(item, "obj", None).__doc__ if getattr(item, "obj", None) else None
        _report.write("collected", nodeid=item.nodeid, name=item.name, doc=(doc or "").strip()[:_MAX_MESSAGE])
        _report.collected += 1


# The checks the tests rely on; code under test that replaces one makes every later verdict meaningless.
_GUARDED = (("retreat.testing", "assert_close"), ("retreat.testing", "assert_equal"),
            ("retreat.testing", "describe_mismatch"), ("torch.testing", "assert_close"), ("torch", "allclose"),
            ("torch", "equal"), ("torch", "isclose"), ("builtins", "isinstance"), ("builtins", "len"),
            ("builtins", "all"), ("builtins", "any"), ("builtins", "abs"), ("math", "isclose"))
_originals: dict[tuple[str, str], object] = {}


def _snapshot_helpers() -> None:
    """Remember the checks as they are before a course module runs (called by the course loader)."""
    for module_name, attr in _GUARDED:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attr):
            _originals.setdefault((module_name, attr), getattr(module, attr))


def _tampered() -> str | None:
    for (module_name, attr), original in _originals.items():
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, attr, None) is not original:
            return f"{module_name}.{attr}"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if _report is not None and report.when == "call" and report.outcome == "passed" and (name := _tampered()):
        # A pass obtained after the checks themselves were replaced is not a pass.
        report.outcome = "failed"
        _report.write("result", nodeid=report.nodeid, when=report.when, outcome="failed",
                      duration=report.duration, kind="tampered",
                      message=f"the code replaced {name}, which the tests use to check it; "
                              "an exercise must not change the testing tools")
        return report
    if _report is not None and (report.when == "call" or report.outcome != "passed"):
        details: dict = {}
        if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
            details = _describe(call.excinfo.value, call.excinfo.tb)
        _report.write("result", nodeid=report.nodeid, when=report.when, outcome=report.outcome,
                      duration=report.duration, **details)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _report is not None:
        _report.write("finished", exitstatus=int(exitstatus), collected=_report.collected)


# -- turning an exception into words a learner can act on -------------------------------------

def _location(tb: Any) -> str | None:
    """The deepest frame in a course file (exercise, solution or support), as 'path:line'."""
    where = None
    for frame in traceback.extract_tb(tb):
        name = frame.filename.replace("\\", "/")
        if any(part in name for part in ("/exercises/", "/solutions/", "/support/", "/tmp")) \
                and "/site-packages/" not in name:
            where = f"{_short(name)}:{frame.lineno}"
    return where


def _short(path: str) -> str:
    root = env.get(env.COURSE)
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path


def _describe(exc: BaseException, tb: Any) -> dict:
    where = _location(tb)
    facts = getattr(exc, "facts", None)
    if type(exc).__name__ == "ForbiddenCall":
        kind = "forbidden"
        message = str(exc) + (f" ({where})" if where else "")
    elif isinstance(exc, NotImplementedError):
        func = None
        for frame in traceback.extract_tb(tb):
            func = frame.name
        kind = "todo"
        message = f"not written yet: {func}() still raises NotImplementedError"
        if where:
            message += f" ({where})"
    elif isinstance(exc, AssertionError):
        kind = "assertion"
        message = str(exc).strip() or "an assertion failed (no message)"
    elif isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        kind = "memory"
        message = ("ran out of memory: the code tried to allocate more than a check may use "
                   f"({env.memory_mb()} MB)" + (f" ({where})" if where else ""))
    elif isinstance(exc, SystemExit):
        kind = "exit"
        message = f"the code called sys.exit({exc.code!r}); an exercise must return, not exit"
    else:
        kind = "error"
        message = f"{type(exc).__name__}: {exc}"
        if where:
            message += f" (at {where})"
    return {"kind": kind, "message": message[:_MAX_MESSAGE], "where": where, "facts": _small(facts)}


def _small(facts: Any) -> dict | None:
    """A failure's facts when they are a dict of modest size; a huge one is dropped, not written."""
    if not isinstance(facts, dict):
        return None
    try:
        size = len(json.dumps(facts, default=str))
    except (TypeError, ValueError, RecursionError):
        return None
    return facts if size <= _MAX_FACTS else None


def _collect_message(report: pytest.CollectReport) -> str:
    text = str(report.longrepr)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # pytest ends a collection error with the exception lines ("E   SomeError: ..."); keep those.
    errors = [ln.strip()[1:].strip() for ln in lines if ln.lstrip().startswith("E ")]
    for ln in reversed(errors):
        if "ExerciseLoadError:" in ln:
            return ln.split("ExerciseLoadError:", 1)[1].strip()[:_MAX_MESSAGE]
    message = " ".join(errors[-3:]) if errors else (lines[-1] if lines else "collection failed")
    return message[:_MAX_MESSAGE]
