"""`retreat new` (a working course in a new folder) and `retreat add` (a reading or an exercise
appended to the roadmap, comments kept)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("new")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default=None, help="The course's title (default: from the folder's name).")
@click.option("--readings-only", is_flag=True, help="A reading list: no exercise, no torch, no tests.")
def new_cmd(directory: Path, title: str | None, readings_only: bool) -> None:
    """Write a small, working course into DIRECTORY (new or empty).

    One stage with a reading, a quiz and (unless --readings-only) a pure-Python exercise with its
    solution, stub, test, two mutants, hints and notes page, plus the notes site. Every file's
    first lines say what to change.

    \b
    Examples:
      retreat new my-course --title "Reading list: diffusion models"
      cd my-course && retreat next
    """
    from retreat.authoring.new import new_course

    files = new_course(directory, title, readings_only)
    click.echo(f"wrote {len(files)} files in {directory}; next: cd {directory} && retreat next")


@click.group("add")
def add() -> None:
    """Append a reading or an exercise to the roadmap (comments and layout kept)."""


@add.command("reading")
@click.argument("url")
@click.option("--title", default=None, help="Default: made from the URL.")
@click.option("--id", "item_id", default=None, help="Default: the title in kebab-case, made unique.")
@click.option("--stage", default=None, help="The stage's id (default: the last stage).")
@click.option("--requires", multiple=True, help="An item this one needs first (repeatable).")
@click.option("--minutes", type=int, default=None, help="Time estimate (default 30).")
@click.option("--day", type=int, default=None, help="The day of the plan it belongs to.")
@click.option("--mine/--course", "mine", default=None,
              help="Into your my-roadmap.yaml (default when the course is not a git checkout you author) "
                   "or into the course's roadmap.")
def add_reading_cmd(url: str, title: str | None, item_id: str | None, stage: str | None,
                    requires: tuple[str, ...], minutes: int | None, day: int | None, mine: bool | None) -> None:
    """Append a reading of URL to a stage.

    \b
    Examples:
      retreat add reading https://arxiv.org/abs/1706.03762 --title "Attention is all you need"
      retreat add reading https://example.org/post --stage basics --requires read-the-guide --mine
    """
    from retreat.authoring.add import add_reading
    from retreat.course import Course

    where, new_id = add_reading(Course.find(), url, title=title, item_id=item_id, stage=stage,
                                requires=list(requires), minutes=minutes, day=day, mine=mine)
    click.echo(f"added reading {new_id} to {where}")


@add.command("exercise")
@click.argument("item_id")
@click.option("--title", default=None, help="Default: made from the id.")
@click.option("--stage", default=None, help="The stage's id (default: the last stage).")
def add_exercise_cmd(item_id: str, title: str | None, stage: str | None) -> None:
    """Add exercise ITEM_ID: solution, stub, test, mutants, notes page and the roadmap item.

    \b
    Example:
      retreat add exercise char-histogram --title "A histogram of characters"
      retreat dev check char-histogram     stub fails, solution passes, mutants fail
    """
    from retreat.authoring.add import add_exercise
    from retreat.course import Course

    where, files = add_exercise(Course.find(), item_id, title=title, stage=stage)
    click.echo(f"added exercise {item_id} to {where}; wrote " + ", ".join(files))


@click.command("challenge")
@click.argument("state", type=click.Choice(["on", "off", "status"]), default="status")
def challenge_cmd(state: str) -> None:
    """Challenge mode: stubs without the step-by-step TODO text, no hint that gives code away.

    Saved as `challenge: true` in your my-roadmap.yaml. Exercise files you have not started follow
    at once (`retreat reset ID` rewrites one you have, after saving a copy of yours).
    """
    from retreat.course import Course
    from retreat.learner.challenge import challenge_on, set_challenge

    course = Course.find()
    if state != "status":
        for line in set_challenge(course, state == "on"):
            click.echo(line)
    click.echo(f"challenge mode is {'on' if challenge_on(course) else 'off'}")
