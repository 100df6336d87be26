"""Engine tests run against a copy of the fixture course, with state in a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retreat import course as course_module

FIXTURE = Path(__file__).parent / "fixture_course"


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No engine test ever touches a real home, course state or the repository's course."""
    home = tmp_path / "state"
    monkeypatch.setenv("RETREAT_HOME", str(home))
    monkeypatch.delenv("RETREAT_COURSE", raising=False)
    monkeypatch.delenv("RETREAT_TARGET", raising=False)
    monkeypatch.delenv("RETREAT_OVERRIDES", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    course_module._course_cache.clear()
    yield home
    course_module._course_cache.clear()


@pytest.fixture
def course_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the fixture course, made the current folder."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    return root


def solve(root: Path, name: str) -> None:
    """Copy an exercise's solution over the learner's file, as a learner who solved it would."""
    (root / "exercises/basics" / name).write_text((root / "solutions/basics" / name).read_text())


def run_cli(root: Path, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI in a real subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "retreat.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
