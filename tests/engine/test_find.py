"""`retreat find`: items, course notes, hints and the learner's journal, best match first."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import run_cli

from retreat.course import Course
from retreat.learner.find import find, terms


def _ids(course_dir: Path, query: str) -> list[tuple[str, str | None]]:
    return [(m.kind, m.item_id) for m in find(Course(course_dir), query)]


def test_terms_fold_case_and_plurals() -> None:
    assert terms("KV caches, Heads and glass") == ["kv", "cache", "head", "and", "glass"]


def test_an_item_title_ranks_first(course_dir: Path) -> None:
    found = find(Course(course_dir), "count down")
    assert (found[0].kind, found[0].item_id) == ("item", "spin"), found
    assert found[0].file == "roadmap.yaml" and found[0].line is not None
    assert "id: spin" in (course_dir / "roadmap.yaml").read_text().splitlines()[found[0].line - 1]


def test_course_notes_are_searched(course_dir: Path) -> None:
    notes = (course_dir / "docs" / "notes" / "greet.md")
    notes.write_text(notes.read_text() + "\nA salutation is a polite opening.\n")
    found = find(Course(course_dir), "polite salutation")
    assert found and found[0].kind == "course notes" and found[0].file == "docs/notes/greet.md"
    assert found[0].item_id == "greet", "a notes page belongs to the item that names it"
    assert "polite opening" in found[0].snippet and found[0].line is not None


def test_hints_are_named_not_shown(course_dir: Path) -> None:
    found = find(Course(course_dir), "f-string")
    assert found[0].kind == "hints" and found[0].item_id == "greet"
    assert "f'" not in found[0].snippet and "retreat hint greet" in found[0].snippet


def test_the_journal_is_searched(course_dir: Path) -> None:
    (course_dir / "journal").mkdir()
    (course_dir / "journal" / "add.md").write_text("# Adding\n\nAddition is commutative: order is irrelevant.\n")
    (course_dir / "journal" / "ideas.md").write_text("# Ideas\n\nTry a commutative monoid next.\n")
    found = find(Course(course_dir), "commutative")
    assert {(m.kind, m.item_id, m.file) for m in found} == {("journal", "add", "journal/add.md"),
                                                            ("journal", None, "journal/ideas.md")}


def test_the_learners_own_items_are_searched(course_dir: Path) -> None:
    (course_dir / "my-roadmap.yaml").write_text(
        "format_version: 1\nadd:\n  basics:\n    - id: my-monoids\n      kind: reading\n"
        "      title: Monoids for programmers\n")
    found = find(Course(course_dir), "monoid")
    assert (found[0].item_id, found[0].file, found[0].line) == ("my-monoids", "my-roadmap.yaml", 4)


def test_solutions_are_never_searched(course_dir: Path) -> None:
    sol = course_dir / "solutions" / "basics" / "01_add.py"
    sol.write_text(sol.read_text() + "\n# zanzibar quokka\n")
    assert find(Course(course_dir), "zanzibar quokka") == []


def test_find_on_the_command_line(course_dir: Path) -> None:
    r = run_cli(course_dir, "find", "square", "number")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert "boom" in first and "Square a number" in first and "roadmap.yaml:" in first
    data = json.loads(run_cli(course_dir, "find", "square", "--json").stdout)
    assert data[0]["id"] == "boom" and data[0]["kind"] == "item" and data[0]["file"] == "roadmap.yaml"
    r = run_cli(course_dir, "find", "xylophone")
    assert r.returncode == 0 and "Nothing matches" in r.stdout
    assert run_cli(course_dir, "find").returncode == 2, "a query is required"


def test_the_templates_questions_do_not_match_every_note(course_dir: Path) -> None:
    from retreat.learner.journal import start_note

    course = Course(course_dir)
    for item in ("add", "greet"):
        start_note(course, item)
    assert [m for m in find(course, "complexity") if m.kind == "journal"] == [], "only the learner's words count"
    with (course_dir / "journal" / "greet.md").open("a") as f:
        f.write("Formatting has no real complexity here.\n")
    found = find(course, "complexity")
    assert [(m.kind, m.item_id) for m in found] == [("journal", "greet")]
    assert found[0].snippet == "Formatting has no real complexity here."
