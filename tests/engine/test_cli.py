"""The learner's commands, through click's runner and, where it matters, a real process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_helpers import run_cli, solve

from retreat.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_next_starts_with_the_first_unlocked_item(course_dir: Path) -> None:
    r = invoke("next")
    assert r.exit_code == 0
    assert "Next: intro" in r.output and "retreat done intro" in r.output


def test_done_unlocks_and_next_moves_on(course_dir: Path) -> None:
    assert invoke("done", "intro").exit_code == 0
    solve(course_dir, "01_add.py")
    r = invoke("next")
    assert "Next: add" in r.output and "exercises/basics/01_add.py" in r.output and "retreat check" in r.output


def test_next_json(course_dir: Path) -> None:
    data = json.loads(invoke("next", "--json").output)
    assert data["id"] == "intro" and data["kind"] == "reading" and data["url"] == "https://example.org/intro"


def test_list_shows_locks_progress_and_points(course_dir: Path) -> None:
    r = invoke("list")
    assert "needs intro" in r.output and "needs greet" in r.output and "0/4" in r.output
    solve(course_dir, "01_add.py")
    assert invoke("check", "add").exit_code == 0
    r = invoke("list")
    assert "✓ add" in r.output and "1/4" in r.output and "10 points" in r.output
    data = json.loads(invoke("list", "--json").output)
    add = next(i for i in data["items"] if i["id"] == "add")
    assert add["status"] == "passed" and add["attempts"] == 1


def test_check_defaults_to_the_current_exercise(course_dir: Path) -> None:
    r = invoke("check")
    assert r.exit_code == 1 and r.output.startswith("add ·")
    assert "not written yet: add()" in r.output and "retreat hint add" in r.output


def test_hints_are_progressive_and_remembered(course_dir: Path) -> None:
    first = invoke("hint", "greet").output
    assert "Hint 1/3" in first and "Hint 2/3" not in first
    second = invoke("hint", "greet").output
    assert "Hint 2/3" in second
    invoke("hint", "greet")
    last = invoke("hint", "greet").output
    assert "Hint 3/3" in last and "last hint" in last
    data = json.loads(invoke("list", "--json").output)
    assert next(i for i in data["items"] if i["id"] == "greet")["hints_shown"] == 3


def test_solution_only_once_passed_or_forced(course_dir: Path) -> None:
    r = invoke("solution", "add")
    assert r.exit_code == 1 and "--force" in r.output
    forced = invoke("solution", "add", "--force")
    assert forced.exit_code == 0 and "return a + b" in forced.output and "###" not in forced.output
    solve(course_dir, "01_add.py")
    invoke("check", "add")
    assert "return a + b" in invoke("solution", "add").output


def test_reset_restores_the_stub_and_keeps_the_learner_version(course_dir: Path, hermetic: Path) -> None:
    path = course_dir / "exercises/basics/01_add.py"
    stub = path.read_text()
    path.write_text("# my work\n")
    r = invoke("reset", "add")
    assert r.exit_code == 0 and path.read_text() == stub
    kept = list((hermetic / "backups").glob("01_add.*.py"))
    assert len(kept) == 1 and kept[0].read_text() == "# my work\n"
    path.unlink()
    assert invoke("reset", "add").exit_code == 0 and path.read_text() == stub


def test_missing_exercise_file_is_one_line(course_dir: Path) -> None:
    (course_dir / "exercises/basics/01_add.py").unlink()
    r = CliRunner().invoke(main, ["check", "add"])
    assert r.exit_code == 1 and "retreat reset add" in r.output and "Traceback" not in r.output


def test_skip_unblocks_and_undo(course_dir: Path) -> None:
    invoke("done", "intro")
    invoke("skip", "greet")
    assert "needs greet" not in invoke("list").output
    invoke("skip", "greet", "--undo")
    assert "needs greet" in invoke("list").output


def test_done_refuses_an_exercise(course_dir: Path) -> None:
    r = CliRunner().invoke(main, ["done", "add"])
    assert r.exit_code == 2 and "retreat check add" in r.output


@pytest.mark.parametrize("command", ["check", "hint", "solution", "reset", "done", "skip"])
def test_unknown_id_suggests_the_closest(course_dir: Path, command: str) -> None:
    r = CliRunner().invoke(main, [command, "gret"])
    assert r.exit_code == 2, r.output
    assert "no item with id 'gret'" in r.output and "Did you mean 'greet'" in r.output
    assert "Traceback" not in r.output


def test_outside_a_course_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["next"])
    assert r.exit_code == 2 and "no roadmap.yaml" in r.output


def test_next_and_list_never_import_torch_or_pydantic(course_dir: Path) -> None:
    probe = ("import sys; from retreat.cli import main\n"
             "try:\n    main([sys.argv[1]])\nexcept SystemExit:\n    pass\n"
             "print('\\nHEAVY:', sorted(m for m in ('torch', 'numpy', 'pydantic') if m in sys.modules))")
    import subprocess

    run_cli(course_dir, "list")  # warm the roadmap cache, as any earlier command would
    for cmd in ("next", "list"):
        out = subprocess.run([sys.executable, "-c", probe, cmd], cwd=course_dir, capture_output=True,
                             text=True, timeout=60).stdout
        assert "HEAVY: []" in out, out
