"""Spaced review: passed items come back after 1, 3, 7, 21 days; `next`, `list` and `review` agree."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_helpers import solve
from test_quiz import RIGHT, add_quiz

from retreat.clock import DAY, now, parse_time
from retreat.course import Course
from retreat.env import NOW as ENV_NOW
from retreat.errors import UsageProblem
from retreat.learner import review
from retreat.learner.progress import DB_NAME, Progress
from retreat.roadmap import Exercise


def invoke(*args: str, input: str | None = None):  # click's name
    from retreat.cli import main

    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def at_day(monkeypatch: pytest.MonkeyPatch, days: float) -> float:
    """Fix the clock `days` from the real now, as RETREAT_NOW does for a learner's scripts."""
    t = time.time() + days * DAY
    monkeypatch.setenv(ENV_NOW, repr(t))
    return t


def review_row(state: Path, item: str) -> tuple | None:
    with sqlite3.connect(state / DB_NAME) as db:
        return db.execute("SELECT step, due, reviews, lapses, last_ok FROM reviews WHERE item = ?",
                          (item,)).fetchone()


def write_scratch(path: Path, body: str) -> None:
    text = path.read_text()
    assert "raise NotImplementedError" in text, "the scratch file starts as the stub"
    path.write_text(text.replace("raise NotImplementedError", body))


def test_nothing_due_says_so_and_exits_zero(course_dir: Path) -> None:
    r = invoke("review")
    assert r.exit_code == 0 and "Nothing is due for review" in r.output


def test_exercise_review_round_trip(course_dir: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solve(course_dir, "01_add.py")
    mine = (course_dir / "exercises/basics/01_add.py").read_text()
    assert invoke("check", "add").exit_code == 0
    assert "Review due" not in invoke("next").output, "nothing is due on the day of the pass"
    assert "tomorrow" in invoke("review").output

    t = at_day(monkeypatch, 2)
    r = invoke("next")
    assert r.output.startswith("Review due: add") and "retreat review" in r.output and "Next: intro" in r.output
    assert "↻ review due" in invoke("list").output
    assert json.loads(invoke("list", "--json").output)["reviews_due"] == ["add"]

    # The first call gives a fresh stub in a scratch file; the learner's own file is untouched.
    r = invoke("review")
    scratch = hermetic / "review" / "add.py"
    assert r.exit_code == 0 and "review/add.py" in r.output and scratch.is_file()
    assert (course_dir / "exercises/basics/01_add.py").read_text() == mine
    assert "still" not in r.output and review_row(hermetic, "add") is None
    r = invoke("review", "add")  # still the stub: nothing is graded, nothing recorded
    assert r.exit_code == 0 and review_row(hermetic, "add") is None

    # A wrong answer fails with the same tests, resets the interval and keeps the scratch file.
    write_scratch(scratch, "return a - b")
    r = invoke("review", "add")
    assert r.exit_code == 1 and "✗" in r.output and "comes back tomorrow" in r.output
    step, due, reviews, lapses, last_ok = review_row(hermetic, "add")
    assert (step, reviews, lapses, last_ok) == (0, 1, 1, 0) and due == pytest.approx(t + DAY)
    assert scratch.is_file()
    assert Progress(hermetic).state("add").status == "passed", "a failed review does not unpass the exercise"

    # Fixed, it passes: on to three days, and the next review starts from a fresh stub.
    scratch.write_text(scratch.read_text().replace("return a - b", "return a + b"))
    r = invoke("review", "add")
    assert r.exit_code == 0 and "Review passed" in r.output and "in 3 days" in r.output
    step, due, reviews, lapses, last_ok = review_row(hermetic, "add")
    assert (step, reviews, lapses, last_ok) == (1, 2, 1, 1) and due == pytest.approx(t + 3 * DAY)
    assert not scratch.exists()
    assert "Review due" not in invoke("next").output and "↻" not in invoke("list").output
    r = invoke("review")
    assert r.exit_code == 0 and "Nothing is due" in r.output and "Next: add, in 3 days" in r.output

    at_day(monkeypatch, 5.5)
    assert invoke("next").output.startswith("Review due: add")


def test_intervals_grow_and_reset(course_dir: Path, hermetic: Path) -> None:
    course = Course.find()
    progress = Progress(hermetic)
    progress.set_status("intro", "done", at=0)
    progress.record_attempt("add", started=1000.0, duration=1.0, passed=2, total=2, ok=True, file_hash=None,
                            outcome="passed")
    (r,) = review.reviews(course, progress)
    assert r.item.id == "add" and r.due == pytest.approx(1001.0 + DAY), "first review a day after the pass"
    t, gaps = r.due, []
    for ok in (True, True, True, True, True, False, True):
        r = review.record(progress, review.find(course, progress, "add"), ok, at=t)
        gaps.append(round((r.due - t) / DAY))
        t = r.due
    assert gaps == [3, 7, 21, 21, 21, 1, 3]
    assert review.due(course, progress, at=t - 1) == [] and len(review.due(course, progress, at=t)) == 1


def test_quiz_review_and_a_reading_reviewed_through_its_quiz(course_dir: Path, hermetic: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    add_quiz(course_dir)
    invoke("done", "intro")
    assert invoke("quiz", "intro-quiz", "--answers", RIGHT).exit_code == 0
    at_day(monkeypatch, 2)
    assert invoke("next").output.startswith("Review due: intro-quiz")
    r = invoke("review", input="b\nab\n64\n")
    assert r.exit_code == 0 and "Review passed: intro-quiz" in r.output
    assert review_row(hermetic, "intro-quiz")[0] == 1
    r = invoke("review", "intro", "--answers", "c,ab,64")  # a reading is reviewed by its quiz
    assert r.exit_code == 1 and "Review not passed: intro-quiz" in r.output
    step, _, reviews, lapses, _ = review_row(hermetic, "intro-quiz")
    assert (step, reviews, lapses) == (0, 2, 1)
    assert Progress(hermetic).state("intro-quiz").attempts == 3, "each review is also a quiz attempt"


def test_review_of_an_unpassed_item_or_a_reading_without_quiz(course_dir: Path) -> None:
    from retreat.cli import main

    r = CliRunner().invoke(main, ["review", "greet"])
    assert r.exit_code == 1 and "not passed yet" in r.output and "retreat check greet" in r.output
    r = CliRunner().invoke(main, ["review", "intro"])
    assert r.exit_code == 1 and "reading without a quiz" in r.output


def test_the_clock_reads_retreat_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NOW, "1796083200")
    assert now() == 1796083200.0
    monkeypatch.setenv(ENV_NOW, "2026-12-01T00:00:00+00:00")
    assert now() == 1796083200.0
    assert parse_time("2026-12-01") == parse_time("2026-12-01T00:00")
    with pytest.raises(UsageProblem, match="RETREAT_NOW"):
        parse_time("next tuesday")
    monkeypatch.delenv(ENV_NOW)
    assert abs(now() - time.time()) < 5


def test_bad_retreat_now_is_one_line(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NOW, "soon")
    from retreat.cli import main

    r = CliRunner().invoke(main, ["next"])
    assert r.exit_code == 2 and "RETREAT_NOW='soon'" in r.output and "Traceback" not in r.output


def test_a_learner_exercise_without_solution_is_not_reviewed(course_dir: Path, hermetic: Path) -> None:
    course = Course.find()
    progress = Progress(hermetic)
    progress.record_attempt("add", started=0.0, duration=1.0, passed=2, total=2, ok=True, file_hash=None,
                            outcome="passed")
    ex = course.roadmap.get("add")
    assert isinstance(ex, Exercise)
    (course_dir / ex.solution).rename(course_dir / "moved.py")
    assert review.reviews(course, progress) == []
