"""`retreat watch`: re-check the current exercise on every save, on the course's grading server.

The exercise's folder is watched, not the file, because many editors save by writing a new file
and renaming it over the old one. Saves that arrive while a check runs are folded into one
re-check of the latest version. When the exercise passes, the watch moves on to the next one.
Each check is `service.grade`, as `retreat check` grades: on the course's grading server
(server.py), which has torch and pytest imported and forks per check, so a save costs about the
test itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retreat.course import Course
from retreat.grading.service import grade
from retreat.grading.verdict import Verdict
from retreat.learner import plan
from retreat.learner.progress import Progress
from retreat.roadmap import Exercise


@dataclass
class WatchEvents:
    """What the watch loop tells its display."""

    on_start: Callable[[Exercise], None]
    on_checking: Callable[[Exercise], None]
    on_verdict: Callable[[Exercise, Verdict], None]
    on_finished: Callable[[], None]


class Watcher:
    """Re-grades the current exercise on every save until it passes, then follows the roadmap."""

    def __init__(self, course: Course, progress: Progress, item_id: str | None, events: WatchEvents,
                 poll: bool = False, debounce_ms: int = 100, follow: bool = True, device: str | None = None) -> None:
        self.course, self.progress, self.events, self.device = course, progress, events, device
        self.poll, self.debounce_ms, self.follow = poll, debounce_ms, follow
        self.stop_event = threading.Event()
        self.changed = threading.Event()
        self.target: Path | None = None
        self.exercise = course.exercise(item_id) if item_id else self._current()

    def _current(self) -> Exercise | None:
        view = plan.current_exercise(self.course.roadmap, self.progress.states())
        return view.item if view else None  # type: ignore[return-value]

    def check_now(self) -> Verdict:
        ex = self.exercise
        assert ex is not None
        self.events.on_checking(ex)
        # A missing file is a failing verdict here, not the end of the watch: a save brings it back.
        # Shown before it is recorded: a busy or read-only database delays the record, not the verdict.
        return grade(self.course, self.progress, ex.id, device=self.device, keep_going=True,
                     show=lambda verdict: self.events.on_verdict(ex, verdict))

    def run(self) -> None:
        watcher = threading.Thread(target=self._watch_files, daemon=True)
        watcher.start()
        try:
            while self.exercise is not None and not self.stop_event.is_set():
                ex = self.exercise
                self.target = self.course.learner_file(ex).resolve()
                self.events.on_start(ex)
                while not self.stop_event.is_set():
                    # Cleared before the check reads the file: a save during the check means a re-check.
                    self.changed.clear()
                    verdict = self.check_now()
                    if verdict.ok and self.follow:
                        break
                    while not self.changed.wait(0.2):
                        if self.stop_event.is_set():
                            return
                self.exercise = self._current()
            if self.exercise is None:
                self.events.on_finished()
        finally:
            self.stop_event.set()

    def _watch_files(self) -> None:
        """For the whole session, flag every change to the current exercise file, however it was saved."""
        import watchfiles

        folder = self.course.root / "exercises"
        for changes in watchfiles.watch(folder, stop_event=self.stop_event, debounce=self.debounce_ms, step=20,
                                        force_polling=self.poll or None, poll_delay_ms=200, rust_timeout=500,
                                        yield_on_timeout=False, recursive=True):
            target = self.target
            if target is not None and any(Path(p).resolve() == target for _, p in changes) and target.is_file():
                self.changed.set()

    def stop(self) -> None:
        self.stop_event.set()
