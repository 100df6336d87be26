"""Engine tests run against a copy of the fixture course, with state in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_helpers import FIXTURE, isolate, stop_grading_servers

from retreat import course as course_module

# The fixture course is data that the engine grades, not a part of this test suite.
collect_ignore = ["fixture_course"]


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No engine test ever touches a real home, course state or the repository's course, or leaves
    a grading server running (a check starts one for the test's own state folder)."""
    home = tmp_path / "state"
    isolate(monkeypatch, home)
    yield home
    course_module._course_cache.clear()
    stop_grading_servers(tmp_path)


@pytest.fixture
def course_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the fixture course, made the current folder."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(autouse=True, scope="session")
def no_grading_server_left(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A grading server started under a module's or the session's folders goes at the end too."""
    yield
    stop_grading_servers(tmp_path_factory.getbasetemp())
