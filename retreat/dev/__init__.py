"""Course-author tools: `retreat dev check` proves the course sound (check.py), mutants are the
plausible wrong solutions it grades (mutants.py), `retreat dev stubs` writes the learners' stubs
from the solutions (stubs.py). The `###` marker grammar itself is retreat/markers.py."""

from __future__ import annotations

from retreat.course import Course
from retreat.roadmap import Exercise


def select_exercises(course: Course, ids: list[str] | None) -> list[Exercise]:
    """The exercises named by `ids`, or every exercise of the course when none is named."""
    if not ids:
        return list(course.roadmap.exercises)
    return [course.exercise(i) for i in ids]
