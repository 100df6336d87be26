"""Engine tests run against a copy of the fixture course, with state in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_helpers import FIXTURE, isolate

from retreat import course as course_module

# The fixture course is data that the engine grades, not a part of this test suite.
collect_ignore = ["fixture_course"]


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No engine test ever touches a real home, course state or the repository's course."""
    home = tmp_path / "state"
    isolate(monkeypatch, home)
    yield home
    course_module._course_cache.clear()


@pytest.fixture
def course_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the fixture course, made the current folder."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    return root
