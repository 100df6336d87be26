"""The CLI reference page, generated from the click commands' own `--help`, so it cannot go stale."""

from __future__ import annotations

from collections.abc import Iterator

import click

WIDTH = 92


def walk(command: click.Command, name: str, parent: click.Context | None = None
         ) -> Iterator[tuple[click.Context, click.Command]]:
    """Every command under `command` (itself first), depth first, in the group's own order."""
    ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                        max_content_width=WIDTH)
    yield ctx, command
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is None or sub.hidden:
                continue
            yield from walk(sub, sub_name, ctx)


def help_text(ctx: click.Context, command: click.Command) -> str:
    """What `--help` prints for this command (colour codes stripped)."""
    return click.unstyle(command.get_help(ctx)).rstrip()


def cli_page(command: click.Command, name: str) -> str:
    entries = list(walk(command, name))
    out = ["# Command-line reference", "",
           f"Every `{name}` command and what its `--help` says, generated from the commands "
           "themselves when the site is built. Run any command with `--help` for the same text.", "",
           "| Command | What it does |", "| --- | --- |"]
    for ctx, cmd in entries[1:]:
        path = ctx.command_path
        out.append(f"| [`{path}`](#{_anchor(path)}) | {cmd.get_short_help_str(limit=90).replace('|', '/')} |")
    for ctx, cmd in entries:
        heading = "#" * min(2 + ctx.command_path.count(" "), 4)
        out += ["", f"{heading} `{ctx.command_path}` {{ #{_anchor(ctx.command_path)} }}", "",
                "```text", help_text(ctx, cmd), "```"]
    return "\n".join(out) + "\n"


def _anchor(path: str) -> str:
    return path.replace(" ", "-").replace("_", "-").lower()


def load_main(spec: str = "retreat.cli:main") -> click.Command:
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)
