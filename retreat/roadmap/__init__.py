"""The roadmap: the course as typed, frozen objects (model.py), read from roadmap.yaml and the files
it includes with file:line errors (load.py, validate.py), with the learner's my-roadmap.yaml laid
over it (overlay.py), and described to editors by a JSON Schema (schema.py).

A new item kind starts in model.py (its dataclass, added to `Item` and `ITEM_KINDS`).
The model is re-exported here: `from retreat.roadmap import Exercise, Roadmap`.
"""

from retreat.roadmap.model import (
    CHOICE_LETTERS,
    FORMAT_VERSION,
    ITEM_KINDS,
    CourseInfo,
    Exercise,
    Item,
    Question,
    Quiz,
    Reading,
    Resource,
    Roadmap,
    Stage,
)

__all__ = ["CHOICE_LETTERS", "FORMAT_VERSION", "ITEM_KINDS", "CourseInfo", "Exercise", "Item", "Question", "Quiz",
           "Reading", "Resource", "Roadmap", "Stage"]
