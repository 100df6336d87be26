"""Options and helpers shared by several commands."""

from __future__ import annotations

import json
from typing import Any

import click

from retreat.course import Course
from retreat.learner.progress import Progress

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")
device_option = click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
                             help="Run the checks on this device (tests ask retreat.testing.device()); "
                                  "cuda needs a GPU.")


def _use_cold(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        import os

        from retreat import env

        os.environ[env.COLD] = "1"  # read by the grading service (grading/service.py)
    return value


cold_option = click.option("--cold", is_flag=True, expose_value=False, callback=_use_cold,
                           help="Grade in a fresh interpreter, not on the course's grading server "
                                "(as RETREAT_COLD=1 does).")


def complete_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion of item ids from the roadmap."""
    try:
        return [i.id for i in Course.find().roadmap.items if i.id.startswith(incomplete)]
    except Exception:  # completion must never fail loudly
        return []


item_argument = click.argument("item_id", metavar="ID", shell_complete=complete_ids)
optional_item_argument = click.argument("item_id", metavar="[ID]", required=False, shell_complete=complete_ids)


def load() -> tuple[Course, Progress]:
    """The course around the current folder and the learner's progress. What the progress
    database has to say (waiting for it, a record kept for later) goes to stderr as it happens."""
    course = Course.find()
    _ = course.roadmap  # validate before anything is written
    # Opened on first use: `retreat check ID` grades and shows its verdict even when another
    # program holds the database, and keeps the record for later.
    return course, Progress(course.state_dir, notify=say)


def say(message: str) -> None:
    """One line for the learner on stderr, beside the command's output (a warning in yellow)."""
    click.secho(f"retreat: {message}", fg="yellow" if message.startswith("warning:") else None, err=True)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def require_device(device: str | None) -> None:
    """Fail in one line before grading when `--device` names a device this machine lacks."""
    if device:
        from retreat.testing import require_device as check  # imports torch: only when a device is named

        check(device)
