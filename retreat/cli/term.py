"""Terminal output with a small subset of rich's markup: `[bold]`, `[dim]`, colours, `[/]`.

`retreat next` and `retreat list` must start about as fast as a bare interpreter with click: rich's
console alone costs more to import than that whole budget (measured in bench/bench_engine.py), so
the few styles retreat uses are translated to click.style here. Colour is dropped when the output
is not a terminal or NO_COLOR is set.
"""

from __future__ import annotations

import os
import re

import click

_TAG = re.compile(r"\\\[|\[(/?)([a-z ]*)\]")
_COLOURS = {"green", "red", "yellow", "cyan", "magenta", "blue", "white"}
_FLAGS = {"bold", "dim", "italic", "underline"}


def escape(text: str) -> str:
    """Make `text` print literally, whatever brackets it holds."""
    return text.replace("[", "\\[")


def _style(words: list[str]) -> dict | None:
    style: dict = {}
    for word in words:
        if word in _COLOURS:
            style["fg"] = word
        elif word in _FLAGS:
            style[word] = True
        else:
            return None  # not a tag we know: the brackets are text
    return style


def render(markup: str, color: bool = True) -> str:
    """The markup as text, with ANSI styles when `color`."""
    out: list[str] = []
    stack: list[dict] = []
    pos = 0

    def emit(text: str) -> None:
        if not text:
            return
        if color and stack:
            merged: dict = {}
            for style in stack:
                merged.update(style)
            text = click.style(text, **merged)
        out.append(text)

    for m in _TAG.finditer(markup):
        emit(markup[pos:m.start()])
        pos = m.end()
        if m.group(0) == "\\[":
            emit("[")
        elif m.group(1):
            if stack:
                stack.pop()
        else:
            style = _style(m.group(2).split())
            if style is None:
                emit(m.group(0))
            else:
                stack.append(style)
    emit(markup[pos:])
    return "".join(out)


class Console:
    """Prints markup; the only two things retreat asks of a console."""

    def print(self, markup: str = "", *, end: str = "\n") -> None:
        click.echo(render(markup, color=not os.environ.get("NO_COLOR")) + end, nl=False)

    def clear(self) -> None:
        click.clear()
