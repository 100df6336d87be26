"""The `retreat` command line: thin click commands over the core modules."""

from __future__ import annotations

import click

from retreat import __version__
from retreat.errors import RetreatError


class RetreatGroup(click.Group):
    """Loads commands lazily; turns the core's errors into one line on stderr and their exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module_name, attr = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module_name), attr), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):  # click's signature
        try:
            return super().invoke(ctx)
        except RetreatError as exc:
            click.secho(f"retreat: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            # The last net for what the machine, not the learner, causes (a full disk, a folder that
            # cannot be written, a database error): one line, never a traceback.
            import sqlite3

            if not isinstance(exc, OSError | sqlite3.Error):
                raise
            click.secho(f"retreat: {_machine_error(exc)}", fg="red", err=True)
            ctx.exit(1)


def _machine_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return f"the progress database failed: {exc}"


@click.group(cls=RetreatGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="retreat")
def main() -> None:
    """Learn by doing: follow the roadmap, edit the exercise, get graded.

    \b
    The day's loop:
      retreat next      what to do now
      retreat check     grade the current exercise
      retreat hint      one more hint
      retreat list      the roadmap and your progress
    """


# Each command's module is imported only when that command runs, so `retreat next` pays for
# nothing but itself (no torch, no pydantic, no MkDocs).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "next": ("retreat.cli.learner", "next_cmd"),
    "list": ("retreat.cli.learner", "list_cmd"),
    "check": ("retreat.cli.learner", "check_cmd"),
    "hint": ("retreat.cli.learner", "hint_cmd"),
    "solution": ("retreat.cli.learner", "solution_cmd"),
    "reset": ("retreat.cli.learner", "reset_cmd"),
    "done": ("retreat.cli.learner", "done_cmd"),
    "skip": ("retreat.cli.learner", "skip_cmd"),
    "report": ("retreat.cli.learner", "report_cmd"),
    "watch": ("retreat.cli.watch", "watch_cmd"),
    "quiz": ("retreat.cli.study", "quiz_cmd"),
    "review": ("retreat.cli.study", "review_cmd"),
    "note": ("retreat.cli.personal", "note_cmd"),
    "find": ("retreat.cli.personal", "find_cmd"),
    "generate": ("retreat.cli.generate", "generate_cmd"),
    "server": ("retreat.cli.server", "server"),
    "new": ("retreat.cli.authoring", "new_cmd"),
    "add": ("retreat.cli.authoring", "add"),
    "challenge": ("retreat.cli.authoring", "challenge_cmd"),
    "dev": ("retreat.cli.dev", "dev"),
    "docs": ("retreat.cli.docs", "docs"),
}
