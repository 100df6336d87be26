"""`retreat report --summary results.json`: the verdicts of `retreat check --json` as Markdown,
for a CI job summary ($GITHUB_STEP_SUMMARY) or a pull-request comment.

Reads only the JSON file, never the course, so it works even when the check could not run (it
then says so). One table row per exercise; the failing checks with their messages, folded.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

MAX_MESSAGE = 400


def _cell(text: object) -> str:
    """Text safe in a Markdown table cell: one line, no pipes, no HTML."""
    return html.escape(" ".join(str(text).split())).replace("|", "\\|")


def _block(text: str) -> str:
    text = text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"
    return html.escape(text)


def load_results(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The verdicts in a `retreat check --json` file, and what was wrong with it, if anything."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [], f"{path} cannot be read ({exc.strerror or exc})"
    if not text.strip():
        return [], f"{path} is empty: the check wrote no results (see the job's log)"
    try:
        data = json.loads(text)
    except ValueError:
        return [], f"{path} is not JSON from 'retreat check --json' (see the job's log)"
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(v, dict) and "item_id" in v for v in data):
        return [], f"{path} does not hold verdicts from 'retreat check --json'"
    return data, None


def _tests(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    tests = verdict.get("tests")
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


def summary_markdown(verdicts: list[dict[str, Any]], problem: str | None = None, title: str = "retreat") -> str:
    passed = sum(bool(v.get("ok")) for v in verdicts)
    lines = [f"### {_cell(title)}: {passed}/{len(verdicts)} exercises pass", ""]
    if problem:
        lines += [f"> :warning: {_cell(problem)}", ""]
    if not verdicts:
        return "\n".join(lines) + "\n"
    lines += ["| | exercise | checks | time | notes |", "| --- | --- | --- | --- | --- |"]
    for v in verdicts:
        tests = _tests(v)
        ok_checks = sum(t.get("outcome") == "passed" for t in tests)
        notes = []
        if v.get("problem"):
            notes.append(str(v["problem"]))
        if v.get("unofficial"):
            notes.append(f":warning: {v['unofficial']}")
        mark = ":white_check_mark:" if v.get("ok") else ":x:"
        try:
            seconds = f"{float(v.get('duration') or 0):.1f} s"
        except (TypeError, ValueError):
            seconds = ""
        lines.append(f"| {mark} | `{_cell(v['item_id'])}` | {ok_checks}/{len(tests)} | {seconds} | "
                     f"{_cell('; '.join(notes))} |")
    failing = [v for v in verdicts if not v.get("ok")]
    for v in failing:
        bad = [t for t in _tests(v) if t.get("outcome") != "passed"]
        if not bad:
            continue
        lines += ["", f"<details><summary>{html.escape(str(v['item_id']))}: "
                      f"{len(bad)} check(s) not passed</summary>", ""]
        for t in bad:
            name = t.get("title") or t.get("name") or "?"
            lines.append(f"- **{_cell(name)}** ({_cell(t.get('outcome', '?'))})")
            message = str(t.get("message") or "").strip()
            if message:
                lines += ["", "  <pre>" + _block(message).replace("\n", "\n  ") + "</pre>", ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"
