"""Grade an exercise for the learner and record the attempt."""

from __future__ import annotations

import time

from retreat.course import Course
from retreat.grading.runner import Job, run_job
from retreat.grading.verdict import Verdict
from retreat.progress import Progress


def grade(course: Course, progress: Progress, item_id: str) -> Verdict:
    ex = course.exercise(item_id)
    started = time.time()
    if not course.learner_file(ex).is_file():
        from retreat.errors import RetreatError

        raise RetreatError(f"{ex.exercise} is missing; 'retreat reset {ex.id}' restores the stub")
    verdict = run_job(course, Job(ex))
    progress.record_attempt(ex.id, started=started, duration=verdict.duration, passed=verdict.passed,
                            total=verdict.total, ok=verdict.ok, file_hash=verdict.file_hash,
                            outcome=verdict.outcome)
    return verdict
