"""`retreat new`: a working course from the package's templates, in an empty folder only."""

from __future__ import annotations

from pathlib import Path

import pytest
from authoring_helpers import invoke


def test_new_course_works_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "c"
    r = invoke("new", str(root), "--title", "Word games")
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(root)
    r = invoke("next")
    assert r.exit_code == 0 and "read-the-guide" in r.output, f"next names the first reading: {r.output}"
    r = invoke("check", "word-count")
    assert r.exit_code == 1 and "NotImplementedError" in r.output, f"the stub is graded, and fails: {r.output}"
    r = invoke("dev", "check", "word-count")
    assert r.exit_code == 0 and "1/1 exercises sound" in r.output, f"the sample exercise is sound: {r.output}"
    for path in root.rglob("*"):
        if path.is_file() and ".retreat" not in path.parts and path.name != "retreat.lock" \
                and "__pycache__" not in path.parts:
            head = "\n".join(path.read_text(encoding="utf-8").splitlines()[:4])
            assert "CHANGE ME" in head or "No need to change" in head, \
                f"the first lines of {path.relative_to(root)} say what to change"
    deps = (root / "pyproject.toml").read_text()
    assert "torch" not in deps.split("dependencies")[1], "the course depends on retreat only"


def test_sample_exercise_needs_no_torch(tmp_path: Path) -> None:
    root = tmp_path / "c"
    assert invoke("new", str(root)).exit_code == 0
    for rel in ("solutions/1_basics/01_word_count.py", "tests/1_basics/test_word_count.py"):
        code = [ln for ln in (root / rel).read_text().splitlines() if ln.startswith(("import", "from"))]
        assert not any("torch" in ln for ln in code), \
            f"{rel} is pure Python"


def test_readings_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "r"
    assert invoke("new", str(root), "--readings-only").exit_code == 0
    assert not (root / "solutions").exists() and not (root / "tests").exists(), "no exercise files"
    monkeypatch.chdir(root)
    r = invoke("list")
    assert r.exit_code == 0 and "word-count" not in r.output, f"a reading list loads: {r.output}"


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    r = invoke("new", str(tmp_path))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, f"one line, exit 2: {r.output}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "state"] or \
        [p.name for p in tmp_path.iterdir() if p.name != "state"] == ["keep.txt"], "nothing written"


def test_templates_are_package_data() -> None:
    import tomllib

    data = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "templates/*" in data["tool"]["setuptools"]["package-data"]["retreat"], \
        "an installed retreat carries its templates"
