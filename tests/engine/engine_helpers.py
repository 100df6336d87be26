"""Helpers shared by the engine tests (imported by name: conftest modules are not importable reliably)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixture_course"


def solve(root: Path, name: str) -> None:
    """Copy an exercise's solution over the learner's file, as a learner who solved it would."""
    (root / "exercises/basics" / name).write_text((root / "solutions/basics" / name).read_text())


def run_cli(root: Path, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI in a real subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "retreat.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
