"""Grade an exercise for the learner and record the attempt."""

from __future__ import annotations

import time
from dataclasses import replace

from retreat.course import Course
from retreat.errors import RetreatError, UsageProblem
from retreat.grading.runner import Job, run_job
from retreat.grading.verdict import Verdict
from retreat.integrity import unofficial_reason
from retreat.progress import Progress
from retreat.roadmap import Exercise

# retreat.testing.ENV_DEVICE (not imported from there: that module imports torch)
ENV_DEVICE = "RETREAT_DEVICE"


def targets(course: Course, item_id: str | None, check_all: bool, stage_id: str | None) -> list[str] | None:
    """The exercises one `retreat check` grades: an id, every exercise, or every exercise of a stage;
    None when none of them is given (the caller grades the current exercise)."""
    if sum((item_id is not None, check_all, stage_id is not None)) > 1:
        raise UsageProblem("give an ID, --all or --stage, not more than one")
    if check_all:
        return [e.id for e in course.roadmap.exercises]
    if stage_id is not None:
        stages = {s.id: s for s in course.roadmap.stages}
        if stage_id not in stages:
            raise UsageProblem(f"no stage {stage_id!r} in this course (the stages are {', '.join(stages)})")
        return [i.id for i in stages[stage_id].items if isinstance(i, Exercise)]
    if item_id is not None:
        return [course.exercise(item_id).id]
    return None


def grade(course: Course, progress: Progress, item_id: str, device: str | None = None,
          keep_going: bool = False) -> Verdict:
    """Grade an exercise, say whether the grade is official (retreat/integrity.py) and record it.

    A missing learner file is an error, or with `keep_going` (grading many) a failing verdict.
    """
    ex = course.exercise(item_id)
    started = time.time()
    if not course.learner_file(ex).is_file():
        problem = f"{ex.exercise} is missing; 'retreat reset {ex.id}' restores the stub"
        if keep_going:
            return Verdict(ex.id, False, (), problem=problem, problem_kind="missing")
        raise RetreatError(problem)
    unofficial = unofficial_reason(course, ex.id)
    verdict = run_job(course, Job(ex, extra_env={ENV_DEVICE: device} if device else {}))
    verdict = replace(verdict, unofficial=unofficial)
    progress.record_attempt(ex.id, started=started, duration=verdict.duration, passed=verdict.passed,
                            total=verdict.total, ok=verdict.ok, file_hash=verdict.file_hash,
                            outcome=verdict.outcome, unofficial=verdict.unofficial)
    return verdict
