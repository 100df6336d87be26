"""The course as typed, frozen objects: what roadmap.yaml says, format version 1.

These are plain dataclasses so that loading a cached roadmap costs no third-party import;
retreat/roadmap/load.py validates the YAML into them (with pydantic, on a cache miss only).
Each field's docstring is its documentation: the shipped JSON Schema is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from retreat.errors import UnknownItem

FORMAT_VERSION = 1
_STRICT = {"extra": "forbid", "use_attribute_docstrings": True}


@dataclass(frozen=True)
class Resource:
    """Something to read or watch that prepares an item."""

    __pydantic_config__ = _STRICT
    title: str
    """What it is, e.g. 'Attention Is All You Need (arXiv 1706.03762)'."""
    url: str | None = None
    """Where to find it, if it is online."""
    note: str | None = None
    """Which part matters, e.g. 'sections 3.2-3.3' or 'chapter 3'."""


@dataclass(frozen=True)
class Exercise:
    """Code the learner writes, graded by a test module."""

    __pydantic_config__ = _STRICT
    id: str
    """Stable kebab-case id; progress is keyed on it."""
    title: str
    """Shown in lists and on the site."""
    exercise: str
    """The learner's stub, relative to the course root (exercises/...)."""
    solution: str
    """The reference solution (solutions/..., same relative path as the stub)."""
    tests: str
    """The test module, run unchanged against the stub, the solution and each mutant."""
    kind: Literal["exercise"] = "exercise"
    """Item kind."""
    summary: str = ""
    """One sentence: what the learner builds."""
    requires: tuple[str, ...] = ()
    """Ids of items that must be passed or done first."""
    hints: tuple[str, ...] = ()
    """Two or three hints, from a nudge to nearly the answer (Markdown)."""
    points: int = 10
    """Points awarded when passed."""
    minutes: int = 30
    """Estimated time to solve, in minutes."""
    notes: str | None = None
    """The notes page, relative to docs/ (e.g. notes/foundations/softmax.md)."""
    resources: tuple[Resource, ...] = ()
    """Readings, videos and papers behind this exercise."""
    optional: bool = False
    """Optional items never block others and do not count towards completion."""
    day: int | None = None
    """Day of the suggested study plan on which this item falls."""
    timeout: float = 30.0
    """Seconds the whole test run (collection included) may take."""
    forbid: tuple[str, ...] = ()
    """Calls the learner's file may not use (e.g. 'torch.softmax'), because the exercise is to write them."""


@dataclass(frozen=True)
class Reading:
    """A paper, chapter or video to study; marked done by the learner."""

    __pydantic_config__ = _STRICT
    id: str
    """Stable kebab-case id; progress is keyed on it."""
    title: str
    """Shown in lists and on the site."""
    kind: Literal["reading"] = "reading"
    """Item kind."""
    url: str | None = None
    """Where to find it, if it is online."""
    book: str | None = None
    """Book and chapter, e.g. 'Build a Large Language Model (From Scratch), ch. 3'."""
    summary: str = ""
    """Why it is worth the time, in a sentence."""
    requires: tuple[str, ...] = ()
    """Ids of items that must be passed or done first."""
    minutes: int = 30
    """Estimated time, in minutes."""
    points: int = 2
    """Points awarded when done."""
    optional: bool = False
    """Optional items never block others and do not count towards completion."""
    day: int | None = None
    """Day of the suggested study plan on which this item falls."""
    notes: str | None = None
    """A notes page that goes with it, relative to docs/."""


CHOICE_LETTERS = "abcdefghijklmnopqrstuvwxyz"
"""A question's choices are shown and answered as letters: a), b), c)..."""


@dataclass(frozen=True)
class Question:
    """One question of a quiz: pick one choice, pick several, or give a number."""

    __pydantic_config__ = _STRICT
    prompt: str
    """The question (Markdown)."""
    answer: int | tuple[int, ...] | float
    """The right answer: a choice's index from 0 (single), a list of indices (multiple), or a number."""
    kind: Literal["single", "multiple", "number"] = "single"
    """single: one choice is right; multiple: every right choice must be picked; number: a value."""
    choices: tuple[str, ...] = ()
    """The choices, shown as a), b), c)... (two or more; none for a number)."""
    tolerance: float = 0.0
    """For a number: how far from `answer` an answer may be and still be right."""
    explanation: str = ""
    """Why the answer is right, shown after answering (never on the site)."""


@dataclass(frozen=True)
class Quiz:
    """Short questions on ideas code cannot show, asked in the terminal by `retreat quiz ID`."""

    __pydantic_config__ = _STRICT
    id: str
    """Stable kebab-case id; progress is keyed on it."""
    title: str
    """Shown in lists and on the site."""
    questions: tuple[Question, ...]
    """The questions, asked in order."""
    kind: Literal["quiz"] = "quiz"
    """Item kind."""
    summary: str = ""
    """What the questions are about, in a sentence."""
    requires: tuple[str, ...] = ()
    """Ids of items that must be passed or done first (the reading or exercise the quiz is about)."""
    pass_mark: float = 1.0
    """The fraction of questions that must be right to pass (1.0: all of them)."""
    points: int = 3
    """Points awarded when passed."""
    minutes: int = 10
    """Estimated time, in minutes."""
    optional: bool = False
    """Optional items never block others and do not count towards completion."""
    day: int | None = None
    """Day of the suggested study plan on which this item falls."""
    notes: str | None = None
    """The notes page the questions are about, relative to docs/."""


Item = Exercise | Reading | Quiz
ITEM_KINDS: dict[str, type] = {"exercise": Exercise, "reading": Reading, "quiz": Quiz}


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    dir: str
    summary: str
    items: tuple[Item, ...]
    source: str
    """The file the stage's items were read from (roadmap.yaml or an included file)."""


@dataclass(frozen=True)
class CourseInfo:
    """Course metadata (the `course:` block)."""

    __pydantic_config__ = _STRICT
    id: str
    """Short id of the course."""
    title: str
    """The course's title."""
    description: str = ""
    """What the course teaches, for the home page and `retreat list`."""
    days: int = 14
    """Length of the suggested study plan, in days."""
    hours_per_day: float = 6.0
    """Study hours a day the plan assumes."""


@dataclass(frozen=True)
class Roadmap:
    format_version: int
    course: CourseInfo
    stages: tuple[Stage, ...]
    files: tuple[str, ...] = field(default=())
    """Every file the roadmap was read from, relative to the course root."""
    skipped: tuple[str, ...] = ()
    """Course items the learner skips in their overlay (my-roadmap.yaml): planned as skipped,
    without a record in the progress database."""
    added: tuple[str, ...] = ()
    """Ids of the items the learner added in their overlay."""

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for stage in self.stages for item in stage.items)

    def get(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise UnknownItem(item_id, [i.id for i in self.items])

    def stage_of(self, item_id: str) -> Stage:
        for stage in self.stages:
            if any(i.id == item_id for i in stage.items):
                return stage
        raise UnknownItem(item_id, [i.id for i in self.items])

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        return tuple(i for i in self.items if isinstance(i, Exercise))
