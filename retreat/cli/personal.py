"""The learner's own layer: `retreat note` (the journal) and `retreat find` (search everything)."""

from __future__ import annotations

import click

from retreat.cli import render
from retreat.cli.common import echo_json, json_option, load, optional_item_argument
from retreat.errors import RetreatError
from retreat.learner import plan


@click.command("note")
@optional_item_argument
@click.option("--print", "print_only", is_flag=True, help="Print the note's path; do not open an editor.")
def note_cmd(item_id: str | None, print_only: bool) -> None:
    """Open your own note on an item (by default the next one) in $EDITOR.

    A new note starts from a template: the item's title, its links and the questions worth
    answering. Notes live in journal/<ID>.md (or $RETREAT_JOURNAL), which course updates never
    touch; `retreat list` marks the items that have one and the site publishes them.

    \b
    Examples:
      retreat note kv-cache
      retreat note --print            just the path of the next item's note
    """
    from retreat.learner.journal import display, editor, open_in_editor, start_note

    course, progress = load()
    if item_id is None:
        view = plan.next_item(course.roadmap, progress.states())
        if view is None:
            raise RetreatError("every item is finished; name one: retreat note ID")
        item_id = view.item.id
    path, created = start_note(course, item_id)
    command = editor()
    if print_only or not command:
        click.echo(display(course, path))
        if created and not print_only:
            click.echo("(a new note, from the template; set $EDITOR to have retreat note open it)", err=True)
        return
    open_in_editor(path, command)
    click.echo(f"{display(course, path)} {'started' if created else 'saved'}.")


@click.command("find")
@click.argument("query", nargs=-1, required=True)
@click.option("-n", "--limit", default=8, show_default=True, help="How many matches to show.")
@json_option
def find_cmd(query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search the items, hints, course notes and your journal; print the best matches.

    \b
    Examples:
      retreat find kv cache memory
      retreat find "why do models hallucinate"
    """
    from retreat.learner.find import find

    course, _ = load()
    matches = find(course, " ".join(query), limit=limit)
    if as_json:
        echo_json([m.to_json() for m in matches])
    else:
        render.matches(matches, " ".join(query))
