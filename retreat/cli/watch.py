"""`retreat watch`: re-check on every save (the loop is retreat/grading/watch.py)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import click

from retreat.cli import render
from retreat.cli.common import cold_option, device_option, load, optional_item_argument, require_device
from retreat.course import Course
from retreat.learner import plan
from retreat.learner.progress import Progress
from retreat.roadmap import Exercise

if TYPE_CHECKING:
    from retreat.grading.verdict import Verdict
    from retreat.grading.watch import Watcher, WatchEvents


@click.command("watch")
@optional_item_argument
@click.option("--poll", is_flag=True, help="Poll for changes (for file systems without change events).")
@click.option("--no-follow", is_flag=True, help="Stay on this exercise after it passes.")
@device_option
@cold_option
def watch_cmd(item_id: str | None, poll: bool, no_follow: bool, device: str | None) -> None:
    """Re-check the current exercise every time you save it; move on when it passes.

    Keys: h = next hint, l = the roadmap, q = quit (Ctrl-C works too).
    """
    from retreat.grading.watch import Watcher

    course, progress = load()
    require_device(device)
    sys.stdout.reconfigure(line_buffering=True)  # each verdict shows as soon as it is known
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    events = _display(course, interactive)
    watcher = Watcher(course, progress, item_id, events, poll=poll, follow=not no_follow, device=device)
    if watcher.exercise is None:
        events.on_finished()
        return
    if interactive:
        threading.Thread(target=_keys, args=(course, progress, watcher), daemon=True).start()
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()


def _display(course: Course, interactive: bool) -> WatchEvents:
    """What the terminal shows as the watch starts, checks and gets a verdict."""
    from retreat.grading.watch import WatchEvents

    console = render.console

    def start(ex: Exercise) -> None:
        console.print(f"[bold]Watching {ex.exercise}[/] — save to re-check"
                      + (" · keys: h hint, l list, q quit" if interactive else ""))

    def checking(ex: Exercise) -> None:
        console.print(f"[dim]checking {ex.id}…[/]")

    def verdict(ex: Exercise, v: Verdict) -> None:
        if interactive:
            console.clear()
        render.verdict(course, v, ex.title)
        console.print("[dim]watching for saves…[/]")
        sys.stdout.flush()

    def finished() -> None:
        console.print("[bold green]Every unlocked exercise is passed.[/] 'retreat next' says what comes next.")

    return WatchEvents(start, checking, verdict, finished)


def _keys(course: Course, progress: Progress, watcher: Watcher) -> None:
    """Read single keys from the terminal while the watch runs: h hint, l list, q quit."""
    import termios
    import tty

    from retreat.learner.session import reveal_hint

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while not watcher.stop_event.is_set():
            key = sys.stdin.read(1)
            if key in ("q", ""):
                watcher.stop()
            elif key == "h" and watcher.exercise is not None:
                hints, _ = reveal_hint(course, progress, watcher.exercise.id)
                render.console.print(f"[bold]Hint {len(hints)}[/] {render.escape(hints[-1])}")
            elif key == "l":
                states = progress.states()
                render.roadmap_list(course, plan.views(course.roadmap, states),
                                    plan.stage_summaries(course.roadmap, states),
                                    plan.next_item(course.roadmap, states))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
