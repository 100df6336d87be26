"""Quizzes: defined in the roadmap, taken in the terminal, recorded, shown on the site without answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from retreat.cli import main
from retreat.errors import RoadmapError
from retreat.learner.progress import Progress
from retreat.learner.quiz import BadAnswer, QuizResult, is_right, parse_answer
from retreat.roadmap import Question, Quiz
from retreat.roadmap.load import parse_roadmap

QUIZ = """\
      - id: intro-quiz
        kind: quiz
        title: The introduction, checked
        requires: [intro]
        minutes: 5
        questions:
          - prompt: Which scaling keeps attention scores at unit variance?
            choices: ["1/d", "1/sqrt(d)", "none"]
            answer: 1
            explanation: The variance of q.k grows like d.
          - prompt: Which tensors does RoPE rotate?
            kind: multiple
            choices: [queries, keys, values]
            answer: [0, 1]
          - prompt: The variance of q.k for d = 64?
            kind: number
            answer: 64
            tolerance: 0.5
            explanation: A sum of 64 unit-variance products.
"""
RIGHT = "b,ab,64"


def add_quiz(root: Path, quiz: str = QUIZ) -> None:
    """Put the quiz right after the reading it is about, so `next` offers it once that is done."""
    path = root / "roadmap.yaml"
    text = path.read_text()
    marker = "      - id: add\n"
    assert marker in text
    path.write_text(text.replace(marker, quiz + marker, 1))


def invoke(*args: str, input: str | None = None):  # click's name
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def quiz_course(course_dir: Path) -> Path:
    add_quiz(course_dir)
    return course_dir


def test_quiz_round_trip_through_next_terminal_database_and_list(quiz_course: Path, hermetic: Path) -> None:
    assert "(quiz)" in invoke("list").output and "needs intro" in invoke("list").output
    invoke("done", "intro")
    r = invoke("next")
    assert "Next: intro-quiz" in r.output and "retreat quiz intro-quiz" in r.output, r.output
    # A letter out of range, two letters for one choice, and a non-number are asked again.
    r = invoke("quiz", "intro-quiz", input="z\nab\nb\nba\nlots\n1/0\n64.25\n")
    assert r.exit_code == 0, r.output
    assert r.output.count("✓ right") == 3 and "Traceback" not in r.output
    assert "'z' is not one letter, a-c" in r.output and "pick one letter" in r.output
    assert "'lots' is not a number" in r.output
    assert "The variance of q.k grows like d." in r.output, "the explanation follows the answer"
    assert "intro-quiz passed" in r.output
    state = Progress(hermetic).state("intro-quiz")
    assert state.status == "passed" and state.attempts == 1 and state.best_passed == 3 and state.best_total == 3
    assert "✓ intro-quiz" in invoke("list").output
    item = next(i for i in json.loads(invoke("list", "--json").output)["items"] if i["id"] == "intro-quiz")
    assert item["kind"] == "quiz" and item["status"] == "passed"
    assert "Next: add" in invoke("next").output


def test_wrong_answers_show_the_right_one_and_do_not_pass(quiz_course: Path, hermetic: Path) -> None:
    r = invoke("quiz", "intro-quiz", "--answers", "a, abc ,70")
    assert r.exit_code == 1
    assert "the answer is b) 1/sqrt(d)" in r.output and "the answer is a) queries, b) keys" in r.output
    assert "the answer is 64 (± 0.5)" in r.output and "0/3 right" in r.output
    state = Progress(hermetic).state("intro-quiz")
    assert state.status is None and state.attempts == 1 and state.best_passed == 0
    assert invoke("quiz", "intro-quiz", "--answers", RIGHT).exit_code == 0
    assert Progress(hermetic).state("intro-quiz").status == "passed"


def test_pass_mark_is_a_fraction_of_the_questions(course_dir: Path, hermetic: Path) -> None:
    add_quiz(course_dir, QUIZ.replace("        minutes: 5\n", "        minutes: 5\n        pass_mark: 0.6\n"))
    r = invoke("quiz", "intro-quiz", "--answers", "b,ab,1")
    assert r.exit_code == 0 and "2/3 right (pass mark 2)" in r.output
    assert Progress(hermetic).state("intro-quiz").status == "passed"


def test_end_of_input_abandons_cleanly_and_records_nothing(quiz_course: Path, hermetic: Path) -> None:
    r = CliRunner().invoke(main, ["quiz", "intro-quiz"], input="b\n")
    assert r.exit_code == 1 and "quiz abandoned; nothing was recorded" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert Progress(hermetic).state("intro-quiz").attempts == 0


@pytest.mark.parametrize(("answers", "words"), [
    ("b,ab", "has 3 questions but --answers gives 2"),
    ("q,ab,64", "'q' is not one letter, a-c"),
    ("b,ab,sixty", "'sixty' is not a number"),
])
def test_bad_answers_option_is_a_usage_error(quiz_course: Path, answers: str, words: str) -> None:
    r = CliRunner().invoke(main, ["quiz", "intro-quiz", "--answers", answers])
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output


def test_quiz_refuses_an_exercise(quiz_course: Path) -> None:
    r = CliRunner().invoke(main, ["quiz", "add"])
    assert r.exit_code == 2 and "retreat check add" in r.output


def test_parse_and_grade() -> None:
    single = Question(prompt="?", choices=("x", "y", "z"), answer=2)
    multiple = Question(prompt="?", kind="multiple", choices=("x", "y", "z"), answer=(0, 2))
    number = Question(prompt="?", kind="number", answer=0.125, tolerance=0.001)
    assert parse_answer(single, " C ") == 2 and is_right(single, 2)
    assert parse_answer(multiple, "c, a") == (0, 2) and is_right(multiple, parse_answer(multiple, "ac"))
    assert not is_right(multiple, (0,)), "every right choice must be picked"
    assert is_right(number, parse_answer(number, "1/8")) and is_right(number, parse_answer(number, "0.1255"))
    assert not is_right(number, parse_answer(number, "0.13"))
    exact = Question(prompt="?", kind="number", answer=64)
    assert is_right(exact, parse_answer(exact, "64.0")) and not is_right(exact, 64.01)
    for q, text in ((single, "ab"), (single, "d"), (multiple, ""), (number, "nan"), (number, "x")):
        with pytest.raises(BadAnswer):
            parse_answer(q, text)
    quiz = Quiz(id="q", title="Q", questions=(single, multiple, number), pass_mark=2 / 3)
    assert QuizResult(quiz, (True, True, False)).passed and not QuizResult(quiz, (True, False, False)).passed


BAD = [
    # (what is wrong, old text, new text, the line the error names, words the message must contain)
    ("answer out of range", "            answer: 1\n", "            answer: 3\n", 27,
     ["item 'intro-quiz'.questions[0].answer", "0 to 2"]),
    ("tolerance on a choice", "            answer: 1\n", "            answer: 1\n            tolerance: 0.1\n", 28,
     ["questions[0].tolerance", "only a number question"]),
    ("single answer given as a list", "            answer: 1\n", "            answer: [1]\n", 27,
     ["questions[0].answer", "one index"]),
    ("multiple answer given as one index", "            answer: [0, 1]\n", "            answer: 0\n", 32,
     ["questions[1].answer", "list of indices"]),
    ("repeated choice", "            answer: [0, 1]\n", "            answer: [1, 1]\n", 32,
     ["questions[1].answer", "once"]),
    ("number with choices", "            answer: 64\n", "            answer: 64\n            choices: [a, b]\n", 36,
     ["questions[2].choices", "no choices"]),
    ("one choice", '            choices: ["1/d", "1/sqrt(d)", "none"]\n', '            choices: ["1/d"]\n', 26,
     ["questions[0].choices", "two or more"]),
    ("pass mark above one", "        minutes: 5\n", "        minutes: 5\n        pass_mark: 1.5\n", 24,
     ["pass_mark", "at most 1"]),
    ("unknown question field", "            explanation: The variance", "            explain: The variance", 28,
     ["questions[0].explain", "unknown field"]),
    ("unknown question kind", "            kind: multiple\n", "            kind: several\n", 30,
     ["questions[1].kind"]),
]


@pytest.mark.parametrize(("what", "old", "new", "line", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_quiz_definitions_are_one_located_line(course_dir: Path, what: str, old: str, new: str, line: int,
                                                   words: list[str]) -> None:
    assert old in QUIZ, old
    add_quiz(course_dir, QUIZ.replace(old, new, 1))
    with pytest.raises(RoadmapError) as info:
        parse_roadmap(course_dir)
    message = str(info.value)
    assert message.startswith(f"roadmap.yaml:{line}:"), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    r = CliRunner().invoke(main, ["list"])
    assert r.exit_code == 2 and "Traceback" not in r.output and r.output.count("\n") == 1


def test_empty_quiz_is_rejected(course_dir: Path) -> None:
    add_quiz(course_dir, QUIZ.split("        questions:\n")[0] + "        questions: []\n")
    with pytest.raises(RoadmapError, match="at least one question"):
        parse_roadmap(course_dir)


def test_the_shipped_quizzes_grade_their_own_answer_keys() -> None:
    """Each quiz of the course passes when given its answer key typed as a learner would."""
    from retreat.learner.quiz import letter

    root = Path(__file__).resolve().parents[2]
    quizzes = [i for i in parse_roadmap(root).items if isinstance(i, Quiz)]
    assert len(quizzes) >= 4, "the course ships quizzes"
    for quiz in quizzes:
        for q in quiz.questions:
            typed = (f"{q.answer}" if q.kind == "number" else
                     "".join(letter(i) for i in (q.answer if isinstance(q.answer, tuple) else (q.answer,))))
            assert is_right(q, parse_answer(q, typed)), f"{quiz.id}: {q.prompt[:40]!r}"
            assert q.explanation, f"{quiz.id}: every question explains its answer"


def test_site_page_shows_questions_and_never_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from site_helpers import make_site_course

    from retreat.course import Course
    from retreat.site.commands import build_site

    root = make_site_course(tmp_path / "course")
    roadmap = root / "roadmap.yaml"
    text = roadmap.read_text()
    quiz = (QUIZ.replace("requires: [intro]", "requires: [intro-video]")
            .replace("explanation: The variance of q.k grows like d.", "explanation: SECRET-EXPLANATION"))
    marker = "      - id: dot-product\n"
    roadmap.write_text(text.replace(marker, quiz + marker, 1))
    monkeypatch.setenv("RETREAT_HOME", str(tmp_path / "state"))
    site = build_site(Course(root), strict=True, site_dir=tmp_path / "site")
    html = (site / "basics" / "intro-quiz" / "index.html").read_text(encoding="utf-8")
    assert "Which scaling keeps attention scores at unit variance?" in html
    assert "1/sqrt(d)" in html and "queries" in html, "the choices are shown"
    assert "retreat quiz intro-quiz" in html
    assert "SECRET-EXPLANATION" not in html and "A sum of 64 unit-variance products" not in html
    assert "the answer is" not in html.lower()
