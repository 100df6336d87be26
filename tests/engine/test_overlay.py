"""The learner's my-roadmap.yaml: merged over the course's roadmap, validated like it, cached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import run_cli

from retreat.course import Course
from retreat.errors import RoadmapError
from retreat.learner import plan
from retreat.learner.progress import Progress

OVERLAY = """\
format_version: 1
pace: {hours_per_day: 0.5}
skip: [intro]
optional: [spin]
order:
  basics: [greet, add]
add:
  basics:
    - id: my-reading
      kind: reading
      title: Why addition commutes
      url: https://example.org/commutes
      requires: [add]
      minutes: 20
    - id: my-double
      title: Double a number
      exercise: mine/double.py
      tests: mine/test_double.py
      requires: [add]
      minutes: 10
"""

MY_EXERCISE = '"""Double a number."""\n\n\ndef double(x):\n    return 2 * x\n'
MY_TESTS = ('import retreat\n\nex = retreat.load_exercise("my-double")\n\n\n'
            'def test_doubles_three():\n    assert ex.double(3) == 6, "double(3) is 6"\n')


def _personalise(root: Path, overlay: str = OVERLAY) -> None:
    (root / "mine").mkdir(exist_ok=True)
    (root / "mine" / "double.py").write_text(MY_EXERCISE)
    (root / "mine" / "test_double.py").write_text(MY_TESTS)
    (root / "my-roadmap.yaml").write_text(overlay)


def test_overlay_merges_adds_skips_orders_and_paces(course_dir: Path) -> None:
    before = (course_dir / "roadmap.yaml").read_bytes()
    _personalise(course_dir)
    rm = Course(course_dir).roadmap
    assert [i.id for i in rm.items] == ["greet", "add", "intro", "spin", "boom", "my-reading", "my-double"], \
        "ordered items first, the rest in course order, the learner's additions at the end of their stage"
    assert rm.skipped == ("intro",) and rm.added == ("my-reading", "my-double")
    assert rm.get("spin").optional, "optional: makes a course item optional"
    assert rm.get("my-double").solution == "mine/double.py", "a learner's exercise is its own reference"
    assert rm.course.hours_per_day == 0.5
    days = {i.id: i.day for i in rm.items}
    # Half-hour days, filled in the learner's order; skipped and optional items get no day.
    assert days == {"greet": 1, "add": 2, "my-reading": 2, "my-double": 3,
                    "intro": None, "spin": None, "boom": None}, days
    assert rm.course.days == max(d for d in days.values() if d), "days follow from the hours a day"
    assert (course_dir / "roadmap.yaml").read_bytes() == before, "the course's roadmap is never edited"
    assert "my-roadmap.yaml" in rm.files


def test_skips_in_the_overlay_unlock_without_a_progress_record(course_dir: Path) -> None:
    _personalise(course_dir)
    course = Course(course_dir)
    progress = Progress(course.state_dir)
    states = progress.states()
    assert "intro" not in states, "nothing is written to the progress database"
    views = {v.item.id: v for v in plan.views(course.roadmap, states)}
    assert views["intro"].state.status == "skipped"
    assert not views["greet"].locked, "greet needs intro, which the overlay skips"
    assert plan.next_item(course.roadmap, states).item.id == "greet"
    assert Progress(course.state_dir).states() == {}


def test_next_list_and_check_follow_the_overlay(course_dir: Path) -> None:
    _personalise(course_dir)
    r = run_cli(course_dir, "list")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[1]: line for line in r.stdout.splitlines() if line.startswith("  ") and len(line.split()) > 1}
    assert "↷" in lines["intro"], "the skipped item is shown as skipped"
    assert "(yours)" in lines["my-reading"] and "(yours)" in lines["my-double"]
    assert "← next" in lines["greet"]
    data = json.loads(run_cli(course_dir, "list", "--json").stdout)
    assert [i["id"] for i in data["items"]][-2:] == ["my-reading", "my-double"]
    assert run_cli(course_dir, "next", "--json").stdout.count('"greet"') == 1
    r = run_cli(course_dir, "check", "my-double")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "doubles three" in r.stdout, "a learner's own exercise is graded like a course exercise"
    (course_dir / "mine" / "double.py").write_text(MY_EXERCISE.replace("2 * x", "x + 1"))
    r = run_cli(course_dir, "check", "my-double")
    assert r.returncode == 1 and "double(3) is 6" in r.stdout


def test_the_course_without_the_overlay(course_dir: Path) -> None:
    _personalise(course_dir)
    rm = Course(course_dir, personal=False).roadmap
    assert "my-reading" not in [i.id for i in rm.items] and rm.skipped == ()
    assert Course.find(course_dir, personal=False).roadmap == rm, "what course-author checks use"
    assert "my-reading" in [i.id for i in Course.find(course_dir).roadmap.items]


BROKEN = [
    # (what is wrong, overlay text, expected line, words the message must contain)
    ("no version", "skip: [intro]\n", 1, ["format_version", "required field is missing"]),
    ("unknown key", "format_version: 1\nskips: [intro]\n", 2, ["skips", "unknown field"]),
    ("unknown skip", "format_version: 1\nskip:\n  - intro\n  - ad\n", 4, ["skip[1]", "unknown item 'ad'",
                                                                          "did you mean 'add'"]),
    ("unknown stage", "format_version: 1\nadd:\n  basic: []\n", 3, ["add.basic", "unknown stage 'basic'"]),
    ("wrong type", "format_version: 1\nadd:\n  basics:\n    - id: mine\n      kind: reading\n"
                   "      title: Mine\n      minutes: lots\n", 7, ["item 'mine'.minutes", "integer"]),
    ("missing field", "format_version: 1\nadd:\n  basics:\n    - id: mine\n      kind: reading\n", 4,
     ["item 'mine'", "title", "required field is missing"]),
    ("unknown field", "format_version: 1\nadd:\n  basics:\n    - id: mine\n      kind: reading\n"
                      "      title: Mine\n      minuts: 5\n", 7, ["minuts", "unknown field"]),
    ("duplicate id", "format_version: 1\nadd:\n  basics:\n    - {id: add, kind: reading, title: Again}\n", 4,
     ["item 'add'.id", "duplicate id", "roadmap.yaml:"]),
    ("unknown prerequisite", "format_version: 1\nadd:\n  basics:\n    - id: mine\n      kind: reading\n"
                             "      title: Mine\n      requires: [gret]\n", 7, ["unknown prerequisite 'gret'"]),
    ("missing file", "format_version: 1\nadd:\n  basics:\n    - id: mine\n      title: Mine\n"
                     "      exercise: mine/nope.py\n      tests: mine/test_nope.py\n", 6,
     ["item 'mine'.exercise", "file not found: mine/nope.py"]),
    ("order across stages", "format_version: 1\norder:\n  basics: [add, nope]\n", 3,
     ["order.basics[1]", "unknown item 'nope'"]),
    ("bad pace", "format_version: 1\npace:\n  days: 0\n", 3, ["pace.days", "at least 1"]),
    ("pace field", "format_version: 1\npace: {weeks: 2}\n", 2, ["pace.weeks", "unknown field"]),
    ("bad YAML", "format_version: 1\nskip: [intro\n", None, ["invalid YAML"]),
]


@pytest.mark.parametrize(("what", "text", "line", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_overlay_mistakes_are_one_located_line(course_dir: Path, what: str, text: str, line: int | None,
                                               words: list[str]) -> None:
    (course_dir / "my-roadmap.yaml").write_text(text)
    with pytest.raises(RoadmapError) as info:
        _ = Course(course_dir).roadmap
    message = str(info.value)
    assert message.startswith(f"my-roadmap.yaml:{line}:" if line else "my-roadmap.yaml:"), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_a_bad_overlay_is_a_usage_error_on_the_command_line(course_dir: Path) -> None:
    (course_dir / "my-roadmap.yaml").write_text("format_version: 1\nskip: [intor]\n")
    r = run_cli(course_dir, "next")
    assert r.returncode == 2
    assert r.stderr.strip() == ("retreat: my-roadmap.yaml:2: skip[0]: unknown item 'intor'; "
                                "did you mean 'intro'?"), r.stderr


def test_the_cache_follows_the_overlay_and_stays_light(course_dir: Path) -> None:
    probe = ("import sys; from retreat.cli import main\n"
             "try:\n    main([sys.argv[1], '--json'])\nexcept SystemExit:\n    pass\n"
             "print('\\nHEAVY:', sorted(m for m in ('torch', 'numpy', 'pydantic') if m in sys.modules))")

    def heavy(cmd: str) -> str:
        out = subprocess.run([sys.executable, "-c", probe, cmd], cwd=course_dir, capture_output=True,
                             text=True, timeout=60).stdout
        return out[out.index("HEAVY:"):]

    run_cli(course_dir, "list")
    _personalise(course_dir)
    assert "pydantic" in heavy("list"), "a new overlay is a cache miss"
    for cmd in ("next", "list"):
        assert heavy(cmd).strip() == "HEAVY: []", f"{cmd} reads the merged roadmap from the cache"
    assert '"my-reading"' in run_cli(course_dir, "list", "--json").stdout
    (course_dir / "my-roadmap.yaml").write_text(OVERLAY.replace("skip: [intro]", "skip: []"))
    assert '"skipped"' not in run_cli(course_dir, "list", "--json").stdout, "an edited overlay is read again"
    (course_dir / "my-roadmap.yaml").unlink()
    assert '"my-reading"' not in run_cli(course_dir, "list", "--json").stdout, "a removed overlay is noticed"
