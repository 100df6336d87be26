"""While `retreat docs serve` runs, rebuild when the learner's progress changes (a `retreat check`
in another terminal), so the progress page and the roadmap's marks follow without a restart.

The server is not pointed at the database folder itself: a build opens the database, and file
watchers report opens and closes as events, which would rebuild for ever. Instead a small thread
polls the database's size and modification time, and when they change after the last build read
them it touches a file in a folder of its own that the server does watch.
"""

from __future__ import annotations

import threading
from pathlib import Path

from retreat.learner.progress import DB_NAME

POLL_SECONDS = 1.0

_watchers: dict[Path, StateWatcher] = {}
_lock = threading.Lock()


def _signature(state_dir: Path) -> tuple:
    out = []
    for name in (DB_NAME, DB_NAME + "-wal"):
        try:
            st = (state_dir / name).stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


class StateWatcher:
    """Touches `trigger` when the learner's database changes after the last build."""

    def __init__(self, state_dir: Path, trigger: Path) -> None:
        self.state_dir = state_dir
        self.trigger = trigger
        self.built = _signature(state_dir)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retreat-state-watcher", daemon=True)

    def start(self) -> None:
        self.trigger.parent.mkdir(parents=True, exist_ok=True)
        self.trigger.touch()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def mark_read(self) -> None:
        """A build is about to read the state as it is now: only later changes call for another."""
        self.built = _signature(self.state_dir)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            now = _signature(self.state_dir)
            if now != self.built:
                self.built = now
                try:
                    self.trigger.touch()
                except OSError:
                    pass


def watch_state(server, state_dir: Path) -> StateWatcher:  # mkdocs LiveReloadServer
    """Start (once per state folder) the watcher and point the server at its trigger folder."""
    trigger = state_dir / "site-live" / "refresh"
    with _lock:
        watcher = _watchers.get(state_dir)
        if watcher is None:
            watcher = _watchers[state_dir] = StateWatcher(state_dir, trigger)
            watcher.start()
    server.watch(str(trigger.parent), recursive=False)
    return watcher


def mark_read(state_dir: Path) -> None:
    watcher = _watchers.get(state_dir)
    if watcher is not None:
        watcher.mark_read()
