"""Loading roadmap.yaml: typed objects for a good one, one located line for every authoring mistake."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_helpers import run_cli

from retreat.cli import main
from retreat.errors import RoadmapError
from retreat.roadmap import Exercise, Reading
from retreat.roadmap.load import load_roadmap, parse_roadmap

REPO = Path(__file__).resolve().parents[2]

GOOD_ITEM = """      - id: extra
        title: Extra
        exercise: exercises/basics/01_add.py
        solution: solutions/basics/01_add.py
        tests: tests/basics/test_add.py
"""


def test_fixture_loads_into_frozen_typed_objects(course_dir: Path) -> None:
    roadmap = parse_roadmap(course_dir)
    assert [s.id for s in roadmap.stages] == ["basics"]
    ids = [i.id for i in roadmap.items]
    assert ids == ["intro", "add", "greet", "spin", "boom"]
    assert isinstance(roadmap.get("intro"), Reading) and isinstance(roadmap.get("add"), Exercise)
    assert roadmap.get("greet").hints[0] == "An f-string helps."
    assert roadmap.get("boom").optional is True
    with pytest.raises(AttributeError):
        roadmap.get("add").title = "changed"  # type: ignore[misc]


def test_the_shipped_course_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    roadmap = parse_roadmap(root)
    assert roadmap.format_version == 1
    assert len(roadmap.stages) == 4


def _break(root: Path, old: str, new: str) -> None:
    path = root / "roadmap.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


BROKEN = [
    # (what is wrong, old text, new text, expected line, words the message must contain)
    ("bad YAML", "      - id: add\n", "      - id: add\n     oops: [\n", None, ["invalid YAML"]),
    ("missing field", "        title: Add two numbers\n", "", 19, ["item 'add'", "title", "required field is missing"]),
    ("wrong type", "        points: 10\n        minutes: 5", "        points: many\n        minutes: 5", 26,
     ["item 'add'.points", "integer"]),
    ("unknown prerequisite", "requires: [intro]", "requires: [intr]", 38, ["unknown prerequisite 'intr'",
                                                                           "did you mean 'intro'"]),
    ("cycle", "        requires: [intro]\n", "        requires: [spin]\n", None, ["cycle", "greet", "spin"]),
    ("duplicate id", "      - id: boom", "      - id: add", 54, ["duplicate id", "roadmap.yaml:19"]),
    ("missing file", "solution: solutions/basics/02_greet.py", "solution: solutions/basics/02_gret.py", 36,
     ["item 'greet'.solution", "file not found: solutions/basics/02_gret.py"]),
    ("unknown field", "        minutes: 5\n        day: 1\n        timeout: 60",
     "        minutes: 5\n        day: 1\n        timout: 60", 29, ["timout", "unknown field"]),
    ("format version", "format_version: 1", "format_version: 7", 1, ["version 7 is not supported"]),
    ("bad id", "      - id: boom", "      - id: Boom_2", 54, ["kebab-case"]),
    ("unknown kind", "        kind: reading", "        kind: lecture", 14, ["unknown kind 'lecture'"]),
]


@pytest.mark.parametrize(("what", "old", "new", "line", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_authoring_mistakes_are_one_located_line(course_dir: Path, what: str, old: str, new: str,
                                                 line: int | None, words: list[str]) -> None:
    _break(course_dir, old, new)
    with pytest.raises(RoadmapError) as info:
        parse_roadmap(course_dir)
    message = str(info.value)
    assert message.startswith("roadmap.yaml:"), message
    if line is not None:
        assert message.startswith(f"roadmap.yaml:{line}:"), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "\n" not in message
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1 and message in result.output


def test_included_stage_file_errors_name_that_file(course_dir: Path) -> None:
    text = (course_dir / "roadmap.yaml").read_text()
    head, items = text.split("    items:\n", 1)
    (course_dir / "roadmap.yaml").write_text(head + "    include: basics.yaml\n")
    items = "items:\n" + "\n".join(line[4:] for line in items.splitlines())
    (course_dir / "basics.yaml").write_text(items.replace("points: 10\n    minutes: 5", "points: [1]\n    minutes: 5"))
    with pytest.raises(RoadmapError) as info:
        parse_roadmap(course_dir)
    assert str(info.value).startswith("basics.yaml:"), str(info.value)


def test_cache_is_used_and_invalidated_by_an_edit(course_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_roadmap(course_dir, cache)
    assert json.loads((cache / "roadmap.json").read_text())["roadmap"]["course"]["id"] == "fixture"
    assert load_roadmap(course_dir, cache) == first
    _break(course_dir, "title: Add two numbers", "title: Add numbers")
    assert load_roadmap(course_dir, cache).get("add").title == "Add numbers"
    _break(course_dir, "points: 10\n        minutes: 5", "points: lots\n        minutes: 5")
    with pytest.raises(RoadmapError):
        load_roadmap(course_dir, cache)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong shape", "unknown kind", "unknown field"])
def test_a_damaged_cache_is_ignored_and_rebuilt(course_dir: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    load_roadmap(course_dir, cache)
    path = cache / "roadmap.json"
    text = path.read_text()
    saved = json.loads(text)
    if damage == "garbage":
        path.write_bytes(b"\x80not json at all")
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "wrong shape":
        path.write_text(json.dumps(dict(saved, roadmap=[1, 2, 3])))
    else:
        damaged = json.loads(text)
        item = damaged["roadmap"]["stages"][0]["items"][1]
        item.update(kind="lecture") if damage == "unknown kind" else item.update(grade="A")
        path.write_text(json.dumps(damaged))
    roadmap = load_roadmap(course_dir, cache)
    assert roadmap.get("add").points == 10 and roadmap.get("add").kind == "exercise"
    assert json.loads(path.read_text()) == saved  # rebuilt


def test_the_cache_is_data_and_reading_it_runs_nothing(course_dir: Path, tmp_path: Path) -> None:
    """A pickle left where the cache was (by an older retreat, or by anyone) is never loaded."""
    import pickle

    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "code ran"))

    for name in ("roadmap.pickle", "roadmap.json"):
        (cache / name).write_bytes(pickle.dumps(Payload()))
    assert load_roadmap(course_dir, cache).get("add").points == 10
    assert not marker.exists() and not (cache / "roadmap.pickle").exists()


def test_the_cache_reads_back_every_field_of_the_shipped_course(tmp_path: Path) -> None:
    from dataclasses import asdict

    from retreat.roadmap.load import thaw

    roadmap = parse_roadmap(REPO)
    assert thaw(json.loads(json.dumps(asdict(roadmap)))) == roadmap


BOMB = """\
format_version: 1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
skip: *i
"""


def _include_stage(root: Path, stage_text: str) -> None:
    """roadmap.yaml includes its one stage's items from basics.yaml, which holds `stage_text`."""
    head = (root / "roadmap.yaml").read_text().split("    items:\n", 1)[0]
    (root / "roadmap.yaml").write_text(head + "    include: basics.yaml\n")
    (root / "basics.yaml").write_text(stage_text)


@pytest.mark.parametrize("where", ["my-roadmap.yaml", "roadmap.yaml", "basics.yaml"])
def test_a_yaml_alias_bomb_fails_fast_in_one_located_line(course_dir: Path, where: str) -> None:
    if where == "my-roadmap.yaml":
        (course_dir / where).write_text(BOMB)
    elif where == "roadmap.yaml":
        path = course_dir / where
        path.write_text(path.read_text() + BOMB.replace("format_version: 1\n", "").replace("skip: *i", "extra: *i"))
    else:
        _include_stage(course_dir, BOMB.replace("format_version: 1\n", "").replace("skip: *i", "items: *i"))
    started = time.monotonic()
    r = run_cli(course_dir, "list", timeout=60)
    assert time.monotonic() - started < 20  # seconds to minutes, and a MemoryError, before
    assert r.returncode == 2 and r.stdout == "", r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and line.startswith(f"retreat: {where}:") and "alias *a is not allowed" in line, line


def test_a_plain_alias_is_refused_too_and_an_anchor_alone_is_fine(course_dir: Path) -> None:
    (course_dir / "my-roadmap.yaml").write_text("format_version: 1\nskip: &mine [intro]\noptional: *mine\n")
    with pytest.raises(RoadmapError, match=r"^my-roadmap.yaml:3: YAML alias \*mine is not allowed"):
        parse_roadmap(course_dir, overlay="my-roadmap.yaml")
    (course_dir / "my-roadmap.yaml").write_text("format_version: 1\nskip: &mine [intro]\n")
    assert parse_roadmap(course_dir, overlay="my-roadmap.yaml").skipped == ("intro",)


def test_shipped_json_schema_is_up_to_date() -> None:
    from retreat.roadmap.schema import SCHEMA_PATH, render_schema

    assert SCHEMA_PATH.read_text() == render_schema(), "run 'retreat dev schema' after changing the roadmap model"
