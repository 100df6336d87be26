"""`retreat add reading` and `retreat add exercise`: an item appended to the right file, comments
and layout kept, the roadmap valid afterwards or the file unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from authoring_helpers import invoke, new_course


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_course(tmp_path, monkeypatch)


def items(root: Path, rel: str = "roadmap.yaml") -> list[dict]:
    data = yaml.safe_load((root / rel).read_text())
    return data["stages"][-1]["items"] if "stages" in data else data["items"]


def test_add_reading_keeps_comments_and_validates(course: Path) -> None:
    before = (course / "roadmap.yaml").read_text()
    r = invoke("add", "reading", "https://example.org/blog/kv-caching_explained.html",
               "--requires", "read-the-guide", "--minutes", "15", "--day", "2")
    assert r.exit_code == 0, r.output
    after = (course / "roadmap.yaml").read_text()
    assert after.startswith(before.rstrip("\n")), "every line of the file, comments included, is kept as it was"
    item = items(course)[-1]
    assert item == {"id": "kv-caching-explained", "kind": "reading", "url": "https://example.org/blog/kv-caching_explained.html",
                    "title": "Kv caching explained (example.org)", "requires": ["read-the-guide"], "minutes": 15,
                    "day": 2}, f"the new item: {item}"
    assert invoke("list").exit_code == 0, "the course still loads"


def test_ids_are_unique(course: Path) -> None:
    for _ in range(2):
        assert invoke("add", "reading", "https://example.org/a-post", "--title", "A post").exit_code == 0
    assert [i["id"] for i in items(course)[-2:]] == ["a-post", "a-post-2"], "a second id gets a number"


def test_a_bad_item_leaves_the_file_unchanged(course: Path) -> None:
    before = (course / "roadmap.yaml").read_bytes()
    r = invoke("add", "reading", "https://example.org/x", "--requires", "no-such-item")
    assert r.exit_code == 2 and "no-such-item" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert (course / "roadmap.yaml").read_bytes() == before, "the roadmap is as it was"
    assert invoke("add", "reading", "not a url").exit_code == 2, "a URL is required"


def test_add_to_an_included_stage_file(course: Path) -> None:
    data = (course / "roadmap.yaml").read_text()
    head, body = data.split("    items:\n", 1)
    (course / "roadmap").mkdir()
    lines = [ln[4:] if ln.startswith("    ") else ln for ln in body.splitlines()]
    (course / "roadmap/basics.yaml").write_text("# basics: my comment\nitems:\n" + "\n".join(lines) + "\n")
    (course / "roadmap.yaml").write_text(head + "    include: [roadmap/basics.yaml]\n")
    assert invoke("list").exit_code == 0, "the include layout loads"
    r = invoke("add", "reading", "https://example.org/deep", "--stage", "basics")
    assert r.exit_code == 0 and "roadmap/basics.yaml" in r.output, r.output
    assert (course / "roadmap/basics.yaml").read_text().startswith("# basics: my comment\n"), "comment kept"
    assert items(course, "roadmap/basics.yaml")[-1]["id"] == "deep"


def test_add_reading_to_my_roadmap(course: Path) -> None:
    before = (course / "roadmap.yaml").read_bytes()
    r = invoke("add", "reading", "https://example.org/mine", "--mine")
    assert r.exit_code == 0 and "my-roadmap.yaml" in r.output, r.output
    assert (course / "roadmap.yaml").read_bytes() == before, "the course's file is not touched"
    mine = yaml.safe_load((course / "my-roadmap.yaml").read_text())
    assert mine["add"]["basics"][0]["id"] == "mine"
    # Once my-roadmap.yaml exists, add goes there by default (a learner's course stays pristine).
    assert invoke("add", "reading", "https://example.org/mine2").exit_code == 0
    assert (course / "roadmap.yaml").read_bytes() == before
    assert "mine" in invoke("list").output


def test_add_exercise_is_sound(course: Path) -> None:
    r = invoke("add", "exercise", "char-histogram", "--title", "A histogram")
    assert r.exit_code == 0, r.output
    for rel in ("exercises/1_basics/02_char_histogram.py", "solutions/1_basics/02_char_histogram.py",
                "solutions/1_basics/02_char_histogram.mutants.yaml", "tests/1_basics/test_char_histogram.py",
                "docs/notes/basics/char-histogram.md"):
        assert (course / rel).is_file(), f"{rel} written"
    assert "### TODO:" in (course / "solutions/1_basics/02_char_histogram.py").read_text()
    r = invoke("dev", "check", "char-histogram")
    assert r.exit_code == 0 and "1/1 exercises sound" in r.output, r.output
    assert invoke("add", "exercise", "char-histogram").exit_code == 2, "an id is used once"
    assert invoke("add", "exercise", "Bad_Id").exit_code == 2, "ids are kebab-case"
