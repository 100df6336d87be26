"""`retreat watch`: re-check on every save."""

from __future__ import annotations

import sys
import threading

import click

from retreat import plan
from retreat.cli import render
from retreat.cli.common import load, optional_item_argument


@click.command("watch")
@optional_item_argument
@click.option("--poll", is_flag=True, help="Poll for changes (for file systems without change events).")
@click.option("--no-follow", is_flag=True, help="Stay on this exercise after it passes.")
def watch_cmd(item_id: str | None, poll: bool, no_follow: bool) -> None:
    """Re-check the current exercise every time you save it; move on when it passes.

    Keys: h = next hint, l = the roadmap, q = quit (Ctrl-C works too).
    """
    from retreat.session import reveal_hint
    from retreat.watch import Watcher, WatchEvents

    course, progress = load()
    console = render.console
    sys.stdout.reconfigure(line_buffering=True)  # each verdict shows as soon as it is known
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def start(ex) -> None:  # noqa: ANN001
        console.print(f"[bold]Watching {ex.exercise}[/] — save to re-check"
                      + (" · keys: h hint, l list, q quit" if interactive else ""))

    def checking(ex) -> None:  # noqa: ANN001
        console.print(f"[dim]checking {ex.id}…[/]")

    def verdict(ex, v) -> None:  # noqa: ANN001
        if interactive:
            console.clear()
        render.verdict(course, v, ex.title)
        console.print("[dim]watching for saves…[/]")
        sys.stdout.flush()

    def finished() -> None:
        console.print("[bold green]Every unlocked exercise is passed.[/] 'retreat next' says what comes next.")

    watcher = Watcher(course, progress, item_id, WatchEvents(start, checking, verdict, finished), poll=poll,
                      follow=not no_follow)
    if watcher.exercise is None:
        finished()
        return

    def keys() -> None:
        import termios
        import tty

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
                    console.print(f"[bold]Hint {len(hints)}[/] {render.escape(hints[-1])}")
                elif key == "l":
                    states = progress.states()
                    render.roadmap_list(course, plan.views(course.roadmap, states),
                                        plan.stage_summaries(course.roadmap, states),
                                        plan.next_item(course.roadmap, states))
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)

    if interactive:
        threading.Thread(target=keys, daemon=True).start()
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()
