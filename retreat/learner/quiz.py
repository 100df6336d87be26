"""Quizzes: what a question accepts, what is right, and what a taken quiz records.

No I/O here besides `record`; the terminal dialogue lives in retreat/cli/study.py, and the checks
of a quiz as written (retreat/roadmap/validate.py) run when the roadmap is loaded. Choices are
shown as letters (a, b, c...); an author writes answers as indices from 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from retreat.learner.progress import Progress
from retreat.roadmap import CHOICE_LETTERS as LETTERS
from retreat.roadmap import Question, Quiz, Roadmap

Answer = int | tuple[int, ...] | float


class BadAnswer(ValueError):
    """An answer that cannot be read (not a wrong one): the terminal asks again."""


def letter(index: int) -> str:
    return LETTERS[index]


def how_to_answer(q: Question) -> str:
    """The prompt's last words: what kind of answer is expected."""
    if q.kind == "number":
        return "a number"
    last = letter(len(q.choices) - 1)
    if q.kind == "multiple":
        return f"the right letters, a-{last}, e.g. ac"
    return f"one letter, a-{last}"


def parse_answer(q: Question, text: str) -> Answer:
    """Read a learner's answer to `q`; raise `BadAnswer` with what is expected."""
    text = text.strip().lower()
    if not text:
        raise BadAnswer(f"give {how_to_answer(q)}")
    if q.kind == "number":
        try:
            if "/" in text:
                from fractions import Fraction  # rare, and costly to import for every command

                value = float(Fraction(text.replace("_", "")))
            else:
                value = float(text.replace("_", ""))
        except (ValueError, ZeroDivisionError):
            raise BadAnswer(f"{text!r} is not a number (e.g. 64, 0.125, 1/8, 2e-3)") from None
        if not math.isfinite(value):
            raise BadAnswer("give a finite number")
        return value
    picked = [c for c in re.sub(r"[\s,;)]+", "", text)]
    valid = LETTERS[: len(q.choices)]
    wrong = [c for c in picked if c not in valid]
    if wrong or not picked:
        raise BadAnswer(f"{text!r} is not {how_to_answer(q)}")
    indices = tuple(sorted({valid.index(c) for c in picked}))
    if q.kind == "single":
        if len(indices) != 1:
            raise BadAnswer(f"pick one letter, a-{valid[-1]}")
        return indices[0]
    return indices


def is_right(q: Question, answer: Answer) -> bool:
    if q.kind == "number":
        return abs(float(answer) - float(q.answer)) <= q.tolerance + 1e-12 * max(1.0, abs(float(q.answer)))
    if q.kind == "multiple":
        return tuple(sorted(answer)) == tuple(sorted(q.answer))
    return answer == q.answer


def answer_text(q: Question) -> str:
    """The right answer as the learner would type it, with the choice's text."""
    if q.kind == "number":
        tol = f" (± {q.tolerance:g})" if q.tolerance else ""
        return f"{float(q.answer):g}{tol}"
    if q.kind == "multiple":
        return ", ".join(f"{letter(i)}) {q.choices[i]}" for i in q.answer)
    return f"{letter(q.answer)}) {q.choices[q.answer]}"


def split_answers(quiz: Quiz, text: str) -> list[str]:
    """`--answers "b,ac,0.125"`: one answer per question, separated by commas."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != len(quiz.questions):
        raise BadAnswer(f"{quiz.id} has {len(quiz.questions)} questions but --answers gives {len(parts)} "
                        "answers (separate them with commas, e.g. \"b,ac,0.125\")")
    return parts


@dataclass(frozen=True)
class QuizResult:
    quiz: Quiz
    right: tuple[bool, ...]

    @property
    def score(self) -> int:
        return sum(self.right)

    @property
    def passed(self) -> bool:
        return self.score >= math.ceil(self.quiz.pass_mark * len(self.quiz.questions) - 1e-9)

    @property
    def needed(self) -> int:
        return math.ceil(self.quiz.pass_mark * len(self.quiz.questions) - 1e-9)


def record(progress: Progress, result: QuizResult, *, started: float, duration: float) -> None:
    """Store a taken quiz as an attempt (questions right of total); a pass marks the quiz passed."""
    progress.record_attempt(result.quiz.id, started=started, duration=duration, passed=result.score,
                            total=len(result.right), ok=result.passed, file_hash=None,
                            outcome="passed" if result.passed else "failed")


def quizzes_about(roadmap: Roadmap, item_id: str) -> list[Quiz]:
    """The quizzes that require an item (a reading's quiz is how it is reviewed)."""
    return [i for i in roadmap.items if isinstance(i, Quiz) and item_id in i.requires]

