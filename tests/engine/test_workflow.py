"""The classroom workflow in the docs runs: every `retreat` command in it is a valid invocation of
our CLI, its matrix names the course's stages, it installs as the README says, and the guide
shows the file as it is."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from retreat.cli import main
from retreat.roadmap.load import parse_roadmap

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "docs/guide/classroom-workflow.yml"
GUIDE = REPO / "docs/guide/classroom.md"
SEPARATORS = {"&&", "||", ";", "|", "&"}
REDIRECTS = {">", ">>", "<", ">&", "&>", ">|"}


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps() -> list[dict]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


def _stages() -> list[str]:
    (job,) = _workflow()["jobs"].values()
    return job["strategy"]["matrix"]["stage"]


def commands(script: str, matrix: dict[str, str]) -> list[list[str]]:
    """Each simple command of a shell script, as argv, with ${{ matrix.X }} filled in."""
    script = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: matrix[m.group(1)], script)
    out = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        tokens = list(lexer)
        skip = False
        for n, tok in enumerate(tokens):
            if skip:
                skip = False
                continue
            if tok in SEPARATORS:
                out.append(current)
                current = []
            elif tok in REDIRECTS:
                skip = True  # the file it redirects to
                if current and current[-1].isdigit() and n and tokens[n - 1] == current[-1]:
                    current.pop()  # the descriptor in 2>&1
            else:
                current.append(tok)
        out.append(current)
    return [c for c in out if c]


def retreat_invocations() -> list[list[str]]:
    found = []
    for stage in _stages():
        for step in _steps():
            for argv in commands(step.get("run", ""), {"stage": stage}):
                if argv[0] == "retreat" and argv[1:] not in found:
                    found.append(argv[1:])
    return found


def parse(args: list[str]) -> click.Context:
    """Parse an invocation with our CLI exactly as a run would, without running it."""
    ctx = main.make_context("retreat", list(args))
    cmd: click.Command = main
    while isinstance(cmd, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, rest)
        assert sub is not None, f"retreat {' '.join(args)}: no such command {name!r}"
        ctx = sub.make_context(name, rest, parent=ctx)
        cmd = sub
    return ctx


def test_the_workflow_grades_each_stage_and_publishes_a_summary() -> None:
    invocations = retreat_invocations()
    stages = _stages()
    checks = [a for a in invocations if a[0] == "check"]
    assert [a[a.index("--stage") + 1] for a in checks] == stages
    assert all("--junit" in a and "--json" in a for a in checks)
    assert any(a[:2] == ["report", "--summary"] for a in invocations)
    assert any("$GITHUB_STEP_SUMMARY" in step.get("run", "") for step in _steps())


@pytest.mark.parametrize("args", retreat_invocations(), ids=" ".join)
def test_each_retreat_command_in_the_workflow_is_valid(args: list[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text("[]")
    ctx = parse(args)
    path = ctx.command_path.split()[1:]  # e.g. ["dev", "lock"]
    assert path == args[:len(path)], f"retreat {' '.join(args)} resolves to {ctx.command_path}"
    r = CliRunner().invoke(main, [*args, "--help"], prog_name="retreat")
    assert r.exit_code == 0 and "Usage: retreat" in r.output, r.output


def test_the_matrix_names_the_course_stages() -> None:
    roadmap = parse_roadmap(REPO)
    assert _stages() == [s.id for s in roadmap.stages]


def test_it_installs_as_the_readme_says() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (install,) = [step["run"] for step in _steps() if "pip install" in step.get("run", "")]
    readme_lines = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert readme_lines and readme_lines[0].startswith(install.strip()), (install, readme_lines)


def test_the_guide_shows_the_workflow_as_it_is() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    block = re.search(r'```yaml title="classroom-workflow.yml"\n(.*?)```', guide, re.S)
    assert block is not None, "docs/guide/classroom.md shows the workflow in a titled yaml block"
    assert block.group(1) == WORKFLOW.read_text(encoding="utf-8")


def test_the_summary_command_reads_check_json(tmp_path: Path) -> None:
    verdicts = [{"item_id": "add", "ok": True, "duration": 1.0, "tests": [{"name": "test_a", "outcome": "passed"}]},
                {"item_id": "greet", "ok": False, "duration": 0.5, "problem": None, "unofficial": "x | changed",
                 "tests": [{"name": "test_b", "title": "b", "outcome": "failed", "message": "got <1>\nexpected 2"}]}]
    (tmp_path / "results.json").write_text(json.dumps(verdicts))
    r = CliRunner().invoke(main, ["report", "--summary", str(tmp_path / "results.json"), "--title", "Stage s"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("### Stage s: 1/2 exercises pass")
    assert "| :x: | `greet` | 0/1 | 0.5 s | :warning: x \\| changed |" in r.output
    assert "got &lt;1&gt;" in r.output
    (tmp_path / "empty.json").write_text("")
    r = CliRunner().invoke(main, ["report", "--summary", str(tmp_path / "empty.json")])
    assert r.exit_code == 0 and "0/0 exercises pass" in r.output and "wrote no results" in r.output
