"""Helpers for the tests of `retreat new`, `retreat add` and challenge mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from retreat.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def new_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A course written by `retreat new`, made the current folder."""
    root = tmp_path / "c"
    assert invoke("new", str(root)).exit_code == 0
    monkeypatch.chdir(root)
    return root
