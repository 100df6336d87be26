"""Helpers the grading tests share: grade an exercise of the fixture course, write a learner's
file, and watch a process the check started (imported by name, like engine_helpers)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from retreat.course import Course
from retreat.grading.runner import Job, run_job
from retreat.grading.verdict import Verdict


def grade(root: Path, item: str, **kw) -> Verdict:
    """Grade `item` of the course at `root` in a cold child (keyword arguments go to Job)."""
    course = Course(root)
    return run_job(course, Job(course.exercise(item), **kw))


def write_exercise(root: Path, name: str, body: str) -> None:
    """Write the learner's file exercises/basics/<name>."""
    (root / "exercises/basics" / name).write_text(body)


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    """Wait up to `seconds` for `pid` to end; True if it has."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def wait_for_pid(path: Path, seconds: float = 30) -> int:
    """The pid a check's code wrote to `path`, once it is there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")
