"""The learner's actions other than grading: what next, hints, solutions, reset, done and skip."""

from __future__ import annotations

import shutil
from pathlib import Path

from retreat.course import Course
from retreat.errors import RetreatError, UsageProblem
from retreat.files import atomic_write, stamped_path
from retreat.learner import plan
from retreat.learner.challenge import challenge_hints, challenge_on, is_stub, stub_for
from retreat.learner.progress import Progress
from retreat.markers import clean_solution
from retreat.roadmap import Exercise, Reading


def default_exercise(course: Course, progress: Progress) -> Exercise:
    """The exercise a bare `retreat check` or `retreat hint` means."""
    view = plan.current_exercise(course.roadmap, progress.states())
    if view is None:
        raise RetreatError("every unlocked exercise is passed; name one to check it again (retreat list)")
    assert isinstance(view.item, Exercise)
    return view.item


def available_hints(course: Course, item_id: str) -> list[str]:
    """The exercise's hints the current mode offers (challenge mode withholds those with code)."""
    hints = course.exercise(item_id).hints
    return challenge_hints(hints) if challenge_on(course) else list(hints)


def reveal_hint(course: Course, progress: Progress, item_id: str) -> tuple[list[str], bool]:
    """Reveal one more hint; return the hints shown so far and whether that was the last."""
    ex = course.exercise(item_id)
    hints = available_hints(course, item_id)
    if not hints:
        raise RetreatError(f"{item_id} has no hints; the notes page may help ('retreat docs serve')")
    shown = progress.next_hint(ex.id, len(hints))
    return hints[:shown], shown == len(hints)


def solution_text(course: Course, progress: Progress, item_id: str, force: bool) -> str:
    ex = course.exercise(item_id)
    if progress.state(ex.id).status != "passed" and not force:
        raise RetreatError(f"solve {item_id} first ('retreat check {item_id}'), "
                           f"or see the solution anyway with 'retreat solution {item_id} --force'")
    return clean_solution(course.solution_file(ex).read_text(encoding="utf-8"))


def reset_exercise(course: Course, item_id: str) -> Path | None:
    """Write the pristine stub back (the challenge stub in challenge mode); the learner's version is
    kept under the state folder."""
    ex = course.exercise(item_id)
    target = course.learner_file(ex)
    stub = stub_for(course, ex)
    backup = None
    if target.is_file():
        if is_stub(target, stub):
            return None
        folder = course.state_dir / "backups"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            backup = stamped_path(folder, f"{Path(ex.exercise).stem}.", ".py")
            shutil.copy2(target, backup)
        except OSError as exc:  # the learner's version is never overwritten before it is kept
            raise RetreatError(f"your version of {ex.exercise} could not be kept in {folder} "
                               f"({exc.strerror or exc}); nothing was reset") from None
    try:
        atomic_write(target, stub)
    except OSError as exc:
        raise RetreatError(f"could not write the stub to {ex.exercise} ({exc.strerror or exc}); "
                           + (f"your version is also in {backup}" if backup else "the file is as it was")) from None
    return backup


def mark(course: Course, progress: Progress, item_id: str, status: str | None) -> None:
    item = course.roadmap.get(item_id)
    if status == "done" and not isinstance(item, Reading):
        what, how = ("a quiz", "quiz") if item.kind == "quiz" else ("an exercise", "check")
        raise UsageProblem(f"{item_id} is {what}: it is passed by 'retreat {how} {item_id}', "
                           f"not marked done (or 'retreat skip {item_id}')")
    if status is None and progress.state(item_id).status == "passed":
        raise RetreatError(f"{item_id} is passed; there is nothing to undo")
    progress.set_status(item_id, status)
