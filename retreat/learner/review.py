"""Spaced review: a passed exercise or quiz comes back after growing intervals.

The first review falls a day after the pass; each review passed moves to the next interval
(1, 3, 7, 21 days, then every 21), a review failed starts again at one day. An exercise is
reviewed by writing it again from a fresh stub in a scratch file under the state folder, graded
by the same tests (retreat/grading/service.py, `grade_review`); a quiz by taking it again; a
reading by the quiz about it, if it has one.

Cheap to import (no torch, no pydantic): `retreat next` and `retreat list` show what is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retreat.clock import DAY, now
from retreat.course import Course
from retreat.errors import RetreatError
from retreat.files import atomic_write
from retreat.learner.progress import ItemState, Progress
from retreat.learner.quiz import quizzes_about
from retreat.roadmap import Exercise, Item, Quiz, Reading, Roadmap

INTERVALS = (1, 3, 7, 21)
"""Days until the next review, after 0, 1, 2, 3 or more reviews passed in a row."""
REVIEW_DIR = "review"


@dataclass(frozen=True)
class Review:
    """Where an item stands in its review schedule."""

    item: Exercise | Quiz
    due: float
    step: int = 0
    """Reviews passed in a row (the index into INTERVALS, capped at its end)."""
    reviews: int = 0
    lapses: int = 0
    last_at: float | None = None
    last_ok: bool | None = None

    def is_due(self, at: float) -> bool:
        return self.due <= at

    @property
    def interval(self) -> int:
        return INTERVALS[min(self.step, len(INTERVALS) - 1)]


def _rows(progress: Progress) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in progress.query(
        "SELECT item, step, due, last_at, last_ok, reviews, lapses FROM reviews")}


def schedule(roadmap: Roadmap, states: dict[str, ItemState], rows: dict[str, tuple]) -> list[Review]:
    """Every passed exercise and quiz with its next review, soonest first (pure)."""
    out = []
    for item in roadmap.items:
        state = states.get(item.id)
        if not isinstance(item, Exercise | Quiz) or state is None or state.status != "passed":
            continue
        row = rows.get(item.id)
        if row is None:
            out.append(Review(item, due=(state.status_at or 0.0) + INTERVALS[0] * DAY))
        else:
            step, due, last_at, last_ok, reviews, lapses = row
            out.append(Review(item, due=due, step=step, reviews=reviews, lapses=lapses, last_at=last_at,
                              last_ok=bool(last_ok)))
    return sorted(out, key=lambda r: r.due)


def reviews(course: Course, progress: Progress) -> list[Review]:
    """The learner's review schedule; an exercise whose reference solution is missing (one of the
    learner's own) cannot be given a fresh stub, so it is left out."""
    return [r for r in schedule(course.roadmap, progress.states(), _rows(progress))
            if not isinstance(r.item, Exercise) or course.solution_file(r.item).is_file()]


def due(course: Course, progress: Progress, at: float | None = None) -> list[Review]:
    """The reviews due now (or at `at`), most overdue first."""
    at = now() if at is None else at
    return [r for r in reviews(course, progress) if r.is_due(at)]


def find(course: Course, progress: Progress, item_id: str) -> Review:
    """The review of one item: an exercise or quiz that is passed, or a reading through its quiz."""
    item: Item = course.roadmap.get(item_id)
    if isinstance(item, Reading):
        quizzes = quizzes_about(course.roadmap, item.id)
        if not quizzes:
            raise RetreatError(f"{item_id} is a reading without a quiz, so there is nothing to review; "
                               "'retreat review' takes the next one due")
        item = quizzes[0]
    for r in reviews(course, progress):
        if r.item.id == item.id:
            return r
    how = f"retreat quiz {item.id}" if isinstance(item, Quiz) else f"retreat check {item.id}"
    raise RetreatError(f"{item.id} is not passed yet, so it is not up for review ('{how}' first)")


def record(progress: Progress, review: Review, ok: bool, at: float | None = None) -> Review:
    """Store a review's outcome: on to the next interval when passed, back to one day when not."""
    at = now() if at is None else at
    step = review.step + 1 if ok else 0
    interval = INTERVALS[min(step, len(INTERVALS) - 1)]
    new = Review(review.item, due=at + interval * DAY, step=step, reviews=review.reviews + 1,
                 lapses=review.lapses + (not ok), last_at=at, last_ok=ok)
    progress.record_review(review.item.id, step=new.step, due=new.due, at=at, ok=ok, reviews=new.reviews,
                           lapses=new.lapses)
    return new


# -- exercises: a fresh stub in a scratch file ---------------------------------------------------
def scratch_file(course: Course, ex: Exercise) -> Path:
    return course.state_dir / REVIEW_DIR / f"{ex.id}.py"


def fresh_stub(course: Course, ex: Exercise) -> str:
    from retreat.markers import make_stub

    return make_stub(course.solution_file(ex).read_text(encoding="utf-8"), ex.solution)


def prepare(course: Course, ex: Exercise, fresh: bool = False) -> tuple[Path, bool]:
    """The scratch file to write the exercise again in, and whether it still holds the stub
    (a new one is written when missing, or when `fresh`)."""
    from retreat.learner.session import is_stub

    path = scratch_file(course, ex)
    stub = fresh_stub(course, ex)
    if fresh or not path.is_file():
        try:
            atomic_write(path, stub)
        except OSError as exc:
            raise RetreatError(f"cannot write the review file {path} ({exc.strerror or exc}); "
                               f"the state folder {course.state_dir} must be writable for a review") from None
        return path, True
    return path, is_stub(path, stub)

