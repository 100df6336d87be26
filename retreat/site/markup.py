"""Paths of the generated pages and the small Markdown helpers every page uses."""

from __future__ import annotations

import posixpath
import re

from retreat.learner.plan import ItemView
from retreat.roadmap import Exercise, Item, Stage

ROADMAP_PAGE = "roadmap.md"
PROGRESS_PAGE = "progress.md"
CLI_PAGE = "cli.md"


def item_page(stage: Stage, item: Item) -> str:
    """The source path of an item's page, e.g. foundations/softmax.md."""
    return f"{stage.id}/{item.id}.md"


def stage_page(stage: Stage) -> str:
    return f"{stage.id}/index.md"


def rel(src_from: str, src_to: str) -> str:
    """A relative link from one page source to another (both relative to docs/)."""
    return posixpath.relpath(src_to, posixpath.dirname(src_from) or ".")


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def minutes_text(minutes: float) -> str:
    minutes = int(round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d}" if m else f"{h} h"


def status_icon(view: ItemView) -> str:
    status = view.state.status
    if status == "passed":
        return ":material-check-circle:{ .rt-passed title='passed' }"
    if status == "done":
        return ":material-check-circle-outline:{ .rt-passed title='done' }"
    if status == "skipped":
        return ":material-debug-step-over:{ .rt-skipped title='skipped' }"
    if view.locked:
        return ":material-lock-outline:{ .rt-locked title='locked' }"
    return ":material-circle-outline:{ .rt-open title='open' }"


def kind_icon(item: Item) -> str:
    if isinstance(item, Exercise):
        return ":material-code-braces:{ title='exercise' }"
    if item.kind == "quiz":
        return ":material-help-circle-outline:{ title='quiz' }"
    return ":material-book-open-variant:{ title='reading' }"


def md_text(text: str) -> str:
    """Text safe as a Markdown link text, also inside a table cell."""
    return re.sub(r"([\\`*_\[\]|<])", r"\\\1", text)


def short(text: str, limit: int = 46) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,:;(") + "…"


def attr(text: str) -> str:
    return re.sub(r'["\\]', "", text)
