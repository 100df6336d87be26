"""Helpers shared by the engine tests (imported by name: conftest modules are not importable reliably)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import retreat.env as env
from retreat import course as course_module

FIXTURE = Path(__file__).parent / "fixture_course"


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Cut a test off from the real learner: every RETREAT_* variable the caller's shell exported
    (an exported RETREAT_JOURNAL would send a journal test into the real journal) is cleared,
    the state folder is `home`, output has no colour, and no course found earlier is reused.

    The autouse fixture does this for every test; a module-scoped fixture calls it inside
    `pytest.MonkeyPatch.context()`, which the autouse fixture cannot reach.
    """
    for name in env.names():
        mp.delenv(name)
    mp.setenv(env.HOME, str(home))
    mp.setenv("NO_COLOR", "1")
    course_module._course_cache.clear()


def solve(root: Path, name: str) -> None:
    """Copy an exercise's solution over the learner's file, as a learner who solved it would."""
    (root / "exercises/basics" / name).write_text((root / "solutions/basics" / name).read_text())


def run_cli(root: Path, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI in a real subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "retreat.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
