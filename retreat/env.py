"""Every environment variable retreat reads: its name, what it means, and who sets it.

A learner sets the first group; the grader sets the second in the child process that runs a test
module (a learner never needs to). Every name starts with PREFIX, so a test can clear them all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PREFIX = "RETREAT_"

# -- set by the learner (or a test) -------------------------------------------------------------
COURSE = "RETREAT_COURSE"
"""The course root; without it, the nearest folder upward holding roadmap.yaml."""
HOME = "RETREAT_HOME"
"""The learner's state folder (progress database, caches, backups); default .retreat/ in the course."""
JOURNAL = "RETREAT_JOURNAL"
"""The learner's journal folder; default journal/ in the course."""
NOW = "RETREAT_NOW"
"""Pins the clock the schedules read (reviews, quizzes): an ISO date or seconds since the epoch."""
MEMORY_MB = "RETREAT_MEMORY_MB"
"""The address space a check may map, in MB (default 4096)."""
COLD = "RETREAT_COLD"
"""Any value but 0: grade in a fresh interpreter, not on the course's grading server (what --cold does)."""
SERVER_IDLE = "RETREAT_SERVER_IDLE"
"""Seconds the grading server waits without a check before it exits (default 900)."""
DB_WAIT = "RETREAT_DB_WAIT"
"""Seconds a command waits for the progress database while another program holds it (default 10)."""

# -- set by the grader in the child that runs the tests -----------------------------------------
TARGET = "RETREAT_TARGET"
"""What `retreat.load_exercise` imports: "exercise" (default) or "solution"."""
OVERRIDES = "RETREAT_OVERRIDES"
"""JSON {item id: file}: import this file instead (mutants, review copies)."""
DEVICE = "RETREAT_DEVICE"
"""The device the checks run on (`retreat check --device`); read by retreat.testing.device()."""
FORBID = "RETREAT_FORBID"
"""JSON list of the dotted names the graded file may not call."""
GRADED = "RETREAT_GRADED"
"""The file whose calls are policed for forbidden names."""
REPORT = "RETREAT_REPORT"
"""Where the grading plugin writes its structured report (taken out of the environment at start)."""
RUN_ID = "RETREAT_RUN_ID"
"""The id the report's lines must carry (taken out of the environment at start)."""

DEFAULT_MEMORY_MB = 4096
DEFAULT_SERVER_IDLE = 900.0
DEFAULT_DB_WAIT = 10.0


def get(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    return os.environ.get(name) or None


def path(name: str) -> Path | None:
    """The variable as an absolute path (`~` expanded), or None when unset."""
    value = get(name)
    return Path(value).expanduser().resolve() if value else None


def memory_mb() -> int:
    return int(get(MEMORY_MB) or DEFAULT_MEMORY_MB)


def db_wait() -> float:
    try:
        return max(0.0, float(get(DB_WAIT) or DEFAULT_DB_WAIT))
    except ValueError:
        return DEFAULT_DB_WAIT


def overrides() -> dict[str, str]:
    return json.loads(get(OVERRIDES) or "{}")


def forbidden() -> list[str]:
    return json.loads(get(FORBID) or "[]")


def names() -> list[str]:
    """Every RETREAT_* variable set in this process (what a hermetic test clears)."""
    return [k for k in os.environ if k.startswith(PREFIX)]
