"""The one place that knows where things are: the course root, the learner's state and journal
folders, and an item's files. Importing those files as modules is retreat/loader.py's job."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import retreat.env as env
from retreat.errors import CourseNotFound, UsageProblem
from retreat.roadmap.load import ROADMAP_FILE
from retreat.roadmap.model import Exercise, Roadmap
from retreat.roadmap.overlay import OVERLAY_FILE

JOURNAL_DIR = "journal"  # the learner's notes, one <item id>.md each; course updates never touch it


def find_course_root(start: Path | None = None) -> Path:
    """The course root: $RETREAT_COURSE, or the nearest folder upward holding roadmap.yaml."""
    given = env.get(env.COURSE)
    if given:
        root = Path(given).expanduser().resolve()
        if not (root / ROADMAP_FILE).is_file():
            raise CourseNotFound(f"{env.COURSE}={given} has no {ROADMAP_FILE}")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ROADMAP_FILE).is_file():
            return folder
    raise CourseNotFound(
        f"no {ROADMAP_FILE} in {here} or any folder above it: run retreat inside a course "
        f"(the folder you cloned), or set {env.COURSE}"
    )


@dataclass
class Course:
    """A course on disk: its root, the learner's folders, and its roadmap (loaded on first use)."""

    root: Path
    personal: bool = True
    """Lay the learner's my-roadmap.yaml over the course's roadmap (off for course-author checks)."""

    @classmethod
    def find(cls, start: Path | None = None, personal: bool = True) -> Course:
        return cls(find_course_root(start), personal)

    @cached_property
    def state_dir(self) -> Path:
        """Where the learner's state lives: $RETREAT_HOME, or .retreat/ under the course root."""
        return env.path(env.HOME) or self.root / ".retreat"

    @cached_property
    def roadmap(self) -> Roadmap:
        from retreat.roadmap.load import load_roadmap

        return load_roadmap(self.root, cache_dir=self.state_dir / "cache",
                            overlay=OVERLAY_FILE if self.personal else None)

    @cached_property
    def journal_dir(self) -> Path:
        """The learner's notes: $RETREAT_JOURNAL, or journal/ under the course root."""
        return env.path(env.JOURNAL) or self.root / JOURNAL_DIR

    def exercise(self, item_id: str) -> Exercise:
        item = self.roadmap.get(item_id)
        if not isinstance(item, Exercise):
            raise UsageProblem(f"{item_id!r} is a {item.kind}, not an exercise")
        return item

    def learner_file(self, ex: Exercise) -> Path:
        return self.root / ex.exercise

    def solution_file(self, ex: Exercise) -> Path:
        return self.root / ex.solution

    def mutants_file(self, ex: Exercise) -> Path:
        """Mutants sit beside the solution: solutions/<stage>/<name>.mutants.yaml."""
        return self.root / (ex.solution[: -len(".py")] + ".mutants.yaml")


_course_cache: dict[str, Course] = {}


def current_course() -> Course:
    """The course around the current folder, found once per (course, folder, state) combination."""
    key = f"{env.get(env.COURSE) or ''}|{Path.cwd()}|{env.get(env.HOME) or ''}"
    if key not in _course_cache:
        _course_cache[key] = Course.find()
    return _course_cache[key]
