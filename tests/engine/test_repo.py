"""The README's quick start is what CI runs, so it cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README's quick start has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_both_verbatim() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("retreat next")
    ci = (ROOT / ".ci/run").read_text().splitlines()
    for command in commands:
        assert command in ci, f".ci/run does not run the README's {command!r}"


def test_ci_runs_dev_check_and_the_docs_build() -> None:
    ci = (ROOT / ".ci/run").read_text()
    assert "retreat dev check" in ci and "retreat docs build" in ci


def test_torch_is_pinned_to_the_local_cpu_wheel() -> None:
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()
