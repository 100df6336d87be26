"""Run one exercise's test module in a child process under a time limit.

The child is a fresh interpreter running pytest with our plugin, in its own process group, so a
timeout kills everything it started. Its output is drained by a thread that keeps only the tail,
so a learner's code that prints without end cannot fill memory or disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from retreat.course import ENV_COURSE, ENV_HOME, ENV_OVERRIDES, ENV_TARGET, Course
from retreat.forbid import ENV_FORBID, ENV_GRADED
from retreat.grading.plugin import ENV_REPORT, ENV_RUN_ID
from retreat.grading.verdict import Verdict, read_verdict
from retreat.grading.worker import Worker, WorkerDied, WorkerPool, die_with_parent
from retreat.roadmap import Exercise

_TAIL_BYTES = 16_384
# Address space a check may map: torch itself maps under 1 GiB; a learner's runaway allocation
# then fails as a MemoryError in the test instead of taking the machine down.
MEMORY_LIMIT_MB = int(os.environ.get("RETREAT_MEMORY_MB", "4096"))


def prepare_child() -> None:
    """Run in a grading child before it starts: memory cap, and death with its parent."""
    limit_memory()
    die_with_parent()


def limit_memory(megabytes: int = MEMORY_LIMIT_MB) -> None:
    """Cap the calling process's address space (called in the child, before the tests run)."""
    limit = megabytes * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


@dataclass(frozen=True)
class Job:
    """One run of an exercise's tests against a target."""

    exercise: Exercise
    target: str = "exercise"  # or "solution"
    overrides: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


def file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def pytest_args(course: Course, ex: Exercise) -> list[str]:
    return [
        str(course.root / ex.tests),
        "-p", "retreat.grading.plugin",
        "-p", "no:cacheprovider",
        "-o", "addopts=",
        "--import-mode=importlib",
        "--rootdir", str(course.root),
        "-q", "--no-header", "-rN", "--tb=short", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]


def child_env(course: Course, job: Job, report: Path, run_id: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(job.extra_env)
    env[ENV_COURSE] = str(course.root)
    env[ENV_HOME] = str(course.state_dir)
    env[ENV_TARGET] = job.target
    env[ENV_OVERRIDES] = json.dumps(job.overrides)
    env[ENV_FORBID] = json.dumps(list(job.exercise.forbid))
    env[ENV_GRADED] = str(graded_file(course, job))
    env[ENV_REPORT] = str(report)
    env[ENV_RUN_ID] = run_id
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ beside the learner's files
    env["PYTHONHASHSEED"] = "0"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugin; scanning entry points costs time
    return env


class _Tail(threading.Thread):
    def __init__(self, stream) -> None:  # noqa: ANN001 - a pipe
        super().__init__(daemon=True)
        self.stream, self.buf = stream, bytearray()

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read1(65536), b""):
            self.buf += chunk
            if len(self.buf) > 2 * _TAIL_BYTES:
                del self.buf[:-_TAIL_BYTES]

    def text(self) -> str:
        return bytes(self.buf[-_TAIL_BYTES:]).decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _run_subprocess(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, bool, str]:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=prepare_child)
    tail = _Tail(proc.stdout)
    tail.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        # Whatever the child started goes too, finished or not.
        _kill_group(proc.pid)
    returncode = proc.wait()
    tail.join(timeout=2)
    return (None if timed_out else returncode), timed_out, tail.text()


def graded_file(course: Course, job: Job) -> Path:
    """The file a job grades: an override (mutant, review copy), the solution, or the learner's file."""
    ex = job.exercise
    if ex.id in job.overrides:
        return Path(job.overrides[ex.id])
    return course.solution_file(ex) if job.target == "solution" else course.learner_file(ex)


def _forbidden_uses(course: Course, job: Job, path: Path) -> str | None:
    if not job.exercise.forbid:
        return None
    from retreat.forbid import scan_source

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        rel = path.relative_to(course.root).as_posix()
    except ValueError:
        rel = path.name
    found = scan_source(text, job.exercise.forbid)
    return "; ".join(v.message(rel) for v in found[:3]) if found else None


def run_job(course: Course, job: Job, worker: Worker | None = None) -> Verdict:
    """Run the tests in a child (a fresh interpreter, or a fork of a warm worker) and read the verdict.

    Never raises for anything the learner's code does.
    """
    ex = job.exercise
    timeout = job.timeout or ex.timeout
    run_id = uuid.uuid4().hex
    graded = graded_file(course, job)
    digest = file_hash(graded)
    with tempfile.TemporaryDirectory(prefix="retreat-run-") as tmp:
        report = Path(tmp) / "report.jsonl"
        env = child_env(course, job, report, run_id)
        args = pytest_args(course, ex)
        started = time.monotonic()
        if worker is None:
            returncode, timed_out, tail = _run_subprocess([sys.executable, "-m", "pytest", *args], env,
                                                          course.root, timeout)
        else:
            try:
                returncode, timed_out, tail = worker.run(args, env, course.root, timeout)
            except WorkerDied:
                duration = time.monotonic() - started
                verdict = read_verdict(ex.id, report, run_id, -signal.SIGKILL, False, timeout, duration, "", digest)
                return replace(verdict, ok=False, problem_kind="crashed",
                               problem="the check killed the process that runs it (the worker was replaced)")
        duration = time.monotonic() - started
        verdict = read_verdict(ex.id, report, run_id, returncode, timed_out, timeout, duration, tail, digest)
    forbidden = _forbidden_uses(course, job, graded)
    if forbidden:
        return replace(verdict, ok=False, problem_kind="forbidden", problem=forbidden)
    return verdict


def run_pooled(course: Course, job: Job, pool: WorkerPool) -> Verdict:
    """Run a job on a borrowed warm worker."""
    worker = pool.borrow()
    try:
        return run_job(course, job, worker)
    finally:
        pool.give_back(worker)
