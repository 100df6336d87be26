"""The `retreat` command line: thin click commands over the core modules."""

from __future__ import annotations

import sys

import click

from retreat import __version__
from retreat.errors import RetreatError


class RetreatGroup(click.Group):
    """Turns the core's errors into one line on stderr and their exit code, never a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except RetreatError as exc:
            click.secho(f"retreat: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


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


def _register() -> None:
    from retreat.cli import dev, docs, learner, personal, watch

    for cmd in (*learner.COMMANDS, watch.watch_cmd, personal.note_cmd, personal.find_cmd, dev.dev, docs.docs):
        main.add_command(cmd)
    from retreat.cli import study  # quiz, review

    for cmd in study.COMMANDS:
        main.add_command(cmd)


_register()


def run() -> None:  # pragma: no cover - console entry point alias
    sys.exit(main())
