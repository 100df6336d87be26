"""retreat: a learning-roadmap tracker with runnable, graded coding exercises."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from types import ModuleType


def load_exercise(item_id: str) -> ModuleType:
    """Import the learner's module for exercise `item_id` (the grader may substitute another)."""
    from retreat.loader import load_exercise as _load

    return _load(item_id)


def load_solution(item_id: str) -> ModuleType:
    """Import the reference solution of exercise `item_id`."""
    from retreat.loader import load_solution as _load

    return _load(item_id)


def load_support(name: str) -> ModuleType:
    """Import the course's support module support/<name>.py."""
    from retreat.loader import load_support as _load

    return _load(name)


__all__ = ["load_exercise", "load_solution", "load_support", "__version__"]
