"""The learner's journal: `retreat note`, the note markers in `list` and `next`, and notes that
survive a course update."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import run_cli

from retreat.course import Course
from retreat.learner.journal import noted, start_note


@pytest.fixture
def no_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)


def test_note_starts_from_the_template_and_prints_its_path(course_dir: Path, no_editor: None) -> None:
    r = run_cli(course_dir, "note", "add")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "journal/add.md"
    text = (course_dir / "journal" / "add.md").read_text()
    assert text.startswith("# Add two numbers\n"), "the item's title"
    assert "`exercises/basics/01_add.py`" in text and "`docs/notes/add.md`" in text, "its links"
    assert "What problem does *Add two numbers* solve?" in text and "What does it cost" in text, \
        "the questions worth answering"
    (course_dir / "journal" / "add.md").write_text("# Mine\n\nmy own words\n")
    assert run_cli(course_dir, "note", "add", "--print").stdout.strip() == "journal/add.md"
    assert (course_dir / "journal" / "add.md").read_text() == "# Mine\n\nmy own words\n", "never overwritten"


def test_a_reading_note_links_to_the_reading(course_dir: Path) -> None:
    path, created = start_note(Course(course_dir), "intro")
    assert created and "<https://example.org/intro>" in path.read_text()
    assert "What question does *An introduction* answer?" in path.read_text()


def test_note_opens_the_editor_on_the_next_item_by_default(course_dir: Path, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write('written in the editor\\n')\n")
    r = run_cli(course_dir, "note", env={"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "journal/intro.md started.", "the next item is the reading intro"
    assert (course_dir / "journal" / "intro.md").read_text().endswith("written in the editor\n")


def test_note_on_an_unknown_item_is_a_usage_error(course_dir: Path) -> None:
    r = run_cli(course_dir, "note", "ad", "--print")
    assert r.returncode == 2 and "Did you mean 'add'" in r.stderr
    assert not (course_dir / "journal").exists()


def test_the_journal_folder_can_live_elsewhere(course_dir: Path, tmp_path: Path, no_editor: None) -> None:
    elsewhere = tmp_path / "my-notes"
    r = run_cli(course_dir, "note", "greet", env={"RETREAT_JOURNAL": str(elsewhere)})
    assert r.returncode == 0 and (elsewhere / "greet.md").is_file()
    assert "✎" in [ln for ln in run_cli(course_dir, "list", env={"RETREAT_JOURNAL": str(elsewhere)})
                   .stdout.splitlines() if " greet " in ln][0]


def test_list_and_next_show_which_items_have_notes(course_dir: Path, no_editor: None) -> None:
    for item in ("intro", "greet", "spin"):
        assert run_cli(course_dir, "note", item).returncode == 0
    out = run_cli(course_dir, "list").stdout
    marked = {ln.split()[1] for ln in out.splitlines() if "✎" in ln and ln.startswith("  ")}
    assert marked == {"intro", "greet", "spin"}, out
    assert "3 items have your notes" in out
    assert noted(Course(course_dir)) == {"intro", "greet", "spin"}
    assert "Journal: journal/intro.md" in run_cli(course_dir, "next").stdout, "the next item's note"
    (course_dir / "journal" / "intro.md").unlink()
    assert "Journal" not in run_cli(course_dir, "next").stdout


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_notes_and_overlay_survive_a_course_update(course_dir: Path, tmp_path: Path, no_editor: None) -> None:
    """The learner clones the course, writes notes and an overlay, then pulls an update that
    changes roadmap.yaml and the exercises: the pull merges cleanly and nothing of theirs changes."""
    upstream = course_dir
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-q", "-m", "course v1")
    learner = tmp_path / "learner"
    _git(tmp_path, "clone", "-q", str(upstream), str(learner))

    for item in ("intro", "add", "greet"):
        assert run_cli(learner, "note", item).returncode == 0
    (learner / "journal" / "add.md").write_text("# Adding\n\nCommutative, so the order does not matter.\n")
    (learner / "my-roadmap.yaml").write_text(
        "format_version: 1\nskip: [intro]\nadd:\n  basics:\n"
        "    - {id: my-reading, kind: reading, title: Why addition commutes, requires: [add]}\n")
    mine = {p.name: p.read_bytes() for p in (learner / "journal").iterdir()}
    mine["my-roadmap.yaml"] = (learner / "my-roadmap.yaml").read_bytes()
    assert "my-reading" in run_cli(learner, "list").stdout

    # The course moves on: a retitled item, a new item, a changed stub.
    roadmap = (upstream / "roadmap.yaml").read_text()
    roadmap = roadmap.replace("title: Add two numbers", "title: Add two numbers (revised)")
    roadmap = roadmap.replace("      - id: spin\n", "      - id: intro-2\n        kind: reading\n"
                              "        title: A second introduction\n        minutes: 5\n      - id: spin\n")
    (upstream / "roadmap.yaml").write_text(roadmap)
    stub = upstream / "exercises" / "basics" / "02_greet.py"
    stub.write_text(stub.read_text() + "\n# (updated by the course)\n")
    _git(upstream, "commit", "-q", "-am", "course v2")

    _git(learner, "pull", "-q", "--no-rebase")
    assert "Add two numbers (revised)" in (learner / "roadmap.yaml").read_text(), "the update arrived"
    assert {p.name: p.read_bytes() for p in (learner / "journal").iterdir()} | \
        {"my-roadmap.yaml": (learner / "my-roadmap.yaml").read_bytes()} == mine, "the learner's files are untouched"
    out = run_cli(learner, "list")
    assert out.returncode == 0, out.stderr
    lines = {ln.split()[1]: ln for ln in out.stdout.splitlines() if ln.startswith("  ") and len(ln.split()) > 1}
    assert "Add two numbers (revised)" in lines["add"] and "✎" in lines["add"]
    assert "intro-2" in lines and "my-reading" in lines and "↷" in lines["intro"]
    assert "journal/add.md" in run_cli(learner, "find", "commutative").stdout
    assert _git(learner, "status", "--porcelain", "--untracked-files=no") == "", \
        "no course file was edited by the learner's commands"
