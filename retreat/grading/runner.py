"""Run one exercise's test module in a child process under a time limit.

The child is a fresh interpreter running pytest with our plugin and the engine's own pytest
configuration, in a clean environment, under a supervisor that enforces the limit and kills
everything the check started (child.py, supervisor.py); or a fork of a warm worker (worker.py).
Its output is drained by a thread that keeps only the tail, so a learner's code that prints
without end cannot fill memory or disk. A pass needs every test retreat.lock expects for the
exercise (lock.py), not just whatever the child happened to collect.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import retreat.env as env
from retreat.course import Course
from retreat.grading.child import clean_environ, limits_for, pytest_args, run_supervised, write_pytest_ini
from retreat.grading.lock import expected_tests
from retreat.grading.verdict import Verdict, read_verdict
from retreat.grading.worker import WorkerDied
from retreat.roadmap import Exercise

if TYPE_CHECKING:
    from retreat.grading.worker import Warm


@dataclass(frozen=True)
class Job:
    """One run of an exercise's tests against a target."""

    exercise: Exercise
    target: str = "exercise"  # or "solution"
    overrides: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    fail_fast: bool = False
    """Stop at the first failing test (dev check: a stub or mutant only has to fail once)."""


def file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def child_env(course: Course, job: Job, report: Path, run_id: str) -> dict[str, str]:
    """The child's environment: the learner's made clean (child.clean_environ), plus what the grader
    tells the child (retreat/env.py)."""
    out = clean_environ(os.environ)
    out.update(job.extra_env)
    out[env.COURSE] = str(course.root)
    out[env.HOME] = str(course.state_dir)
    out[env.TARGET] = job.target
    out[env.OVERRIDES] = json.dumps(job.overrides)
    out[env.FORBID] = json.dumps(list(job.exercise.forbid))
    out[env.GRADED] = str(graded_file(course, job))
    out[env.REPORT] = str(report)
    out[env.RUN_ID] = run_id
    return out


def run_cold(args: list[str], child_env: dict[str, str], cwd: Path, timeout: float,
             device: str | None = None) -> tuple[int | None, bool, str]:
    """Run pytest with `args` in a fresh interpreter under a supervisor (child.run_supervised); return
    (exit code, or None when it timed out; whether it timed out; the output's tail)."""
    return run_supervised(args, child_env, cwd, timeout, limits_for(device, timeout))


def graded_file(course: Course, job: Job) -> Path:
    """The file a job grades: an override (mutant, review copy), the solution, or the learner's file."""
    ex = job.exercise
    if ex.id in job.overrides:
        return Path(job.overrides[ex.id])
    return course.solution_file(ex) if job.target == "solution" else course.learner_file(ex)


def _forbidden_uses(course: Course, job: Job, path: Path) -> str | None:
    if not job.exercise.forbid:
        return None
    from retreat.grading.forbid import scan_source
    from retreat.source import SourceError, read_source

    try:
        text = read_source(path)  # as Python reads it: a coding line, a BOM, CRLF
    except (OSError, SourceError):  # an unreadable file is a verdict of its own (grading/service.py)
        return None
    try:
        rel = path.relative_to(course.root).as_posix()
    except ValueError:
        rel = path.name
    found = scan_source(text, job.exercise.forbid)
    return "; ".join(v.message(rel) for v in found[:3]) if found else None


def run_job(course: Course, job: Job, worker: Warm | None = None) -> Verdict:
    """Run the tests in a child (a fresh interpreter, or a fork of a warm worker) and read the verdict.

    Never raises for anything the learner's code does.
    """
    ex = job.exercise
    timeout = job.timeout or ex.timeout
    run_id = uuid.uuid4().hex
    graded = graded_file(course, job)
    digest = file_hash(graded)
    expected = expected_tests(course, ex)
    with tempfile.TemporaryDirectory(prefix="retreat-run-") as tmp:
        report = Path(tmp) / "report.jsonl"
        environ = child_env(course, job, report, run_id)
        args = pytest_args(course.root, [ex.tests], write_pytest_ini(Path(tmp))) + (["-x"] if job.fail_fast else [])
        started = time.monotonic()
        if worker is None:
            returncode, timed_out, tail = run_cold(args, environ, course.root, timeout, environ.get(env.DEVICE))
        else:
            try:
                returncode, timed_out, tail = worker.run(args, environ, course.root, timeout)
            except WorkerDied as exc:
                duration = time.monotonic() - started
                verdict = read_verdict(ex.id, report, run_id, -signal.SIGKILL, False, timeout, duration, "", digest,
                                       expected)
                return replace(verdict, ok=False, problem_kind="crashed",
                               problem=str(exc) or "the check killed the process that runs it")
        duration = time.monotonic() - started
        verdict = read_verdict(ex.id, report, run_id, returncode, timed_out, timeout, duration, tail, digest,
                               expected)
    forbidden = _forbidden_uses(course, job, graded)
    if forbidden:
        return replace(verdict, ok=False, problem_kind="forbidden", problem=forbidden)
    return verdict
