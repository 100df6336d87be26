"""`retreat dev stubs`: write each exercise's stub from its solution (retreat/markers.py)."""

from __future__ import annotations

from retreat.course import Course
from retreat.dev import select_exercises
from retreat.files import atomic_write
from retreat.markers import make_stub


def write_stubs(course: Course, ids: list[str] | None = None) -> list[str]:
    """Regenerate the stubs from the solutions; return the files that changed."""
    changed = []
    for ex in select_exercises(course, ids):
        stub = make_stub(course.solution_file(ex).read_text(encoding="utf-8"), ex.solution)
        target = course.learner_file(ex)
        if not target.is_file() or target.read_text(encoding="utf-8") != stub:
            atomic_write(target, stub)
            changed.append(ex.exercise)
    return changed
