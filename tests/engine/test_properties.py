"""Bad input, generated: whatever the roadmap files or the command line hold, retreat answers with a
valid result or one line naming the problem (and the file), never a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from engine_helpers import FIXTURE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retreat.cli import main
from retreat.errors import RoadmapError, UsageProblem
from retreat.roadmap import Roadmap
from retreat.roadmap.load import parse_roadmap
from retreat.roadmap.overlay import OVERLAY_FILE

# RETREAT_FUZZ_EXAMPLES=2000 for a deeper search than CI's.
FAST = settings(max_examples=int(os.environ.get("RETREAT_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
IDS = ["intro", "add", "greet", "spin", "boom"]
FIELDS = ["format_version", "course", "stages", "id", "title", "dir", "items", "include", "kind", "exercise",
          "solution", "tests", "requires", "hints", "notes", "points", "minutes", "timeout", "forbid", "day",
          "optional", "resources", "url", "summary", "days", "hours_per_day", "skip", "order", "add", "pace"]

scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from(IDS + FIELDS + ["exercises/basics/01_add.py", "roadmap.yaml"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4),
                      max_leaves=20)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "fuzzed"
    shutil.copytree(FIXTURE, root)
    return root


def outcome(root: Path, file: str = "roadmap.yaml", overlay: str | None = None) -> Roadmap | UsageProblem:
    """Load the roadmap; an error must be a one-line UsageProblem naming the file it is about."""
    try:
        return parse_roadmap(root, overlay=overlay)
    except UsageProblem as exc:
        message = str(exc)
        assert "\n" not in message and message.strip(), f"not one line: {message!r}"
        if isinstance(exc, RoadmapError):
            assert message.startswith(exc.file) and (exc.file == file or (root / exc.file).is_file()), message
        else:
            assert file in message, message
        return exc


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def mutate(data: Any, draw: Any) -> Any:
    """One random edit somewhere in the tree: delete, replace, or add a field."""
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["delete", "replace", "add", "duplicate"]))
    if not path:
        return draw(values) if action == "replace" else data
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = draw(values)
    elif action == "add" and isinstance(parent[last], dict):
        parent[last][draw(st.sampled_from(FIELDS))] = draw(values)
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(json.loads(json.dumps(parent[last])))
    return data


@FAST
@given(doc=values)
def test_any_yaml_document_loads_or_fails_in_one_line(course: Path, doc: Any) -> None:
    (course / "roadmap.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = outcome(course)
    assert isinstance(result, (Roadmap, UsageProblem))


@FAST
@given(text=st.text(max_size=200))
def test_any_text_loads_or_fails_in_one_line(course: Path, text: str) -> None:
    (course / "roadmap.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(course)


@FAST
@given(data=st.data())
def test_mutations_of_the_fixture_roadmap_load_or_fail_in_one_line(course: Path, data: st.DataObject) -> None:
    doc = yaml.safe_load((FIXTURE / "roadmap.yaml").read_text(encoding="utf-8"))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data.draw)
    (course / "roadmap.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    outcome(course)


@FAST
@given(data=st.data())
def test_text_edits_of_the_fixture_roadmap_load_or_fail_in_one_line(course: Path, data: st.DataObject) -> None:
    lines = (FIXTURE / "roadmap.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        n = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["drop", "repeat", "insert", "indent"]))
        if edit == "drop" and len(lines) > 1:
            del lines[n]
        elif edit == "repeat":
            lines.insert(n, lines[n])
        elif edit == "insert":
            col = data.draw(st.integers(0, len(lines[n])))
            lines[n] = lines[n][:col] + data.draw(st.text(max_size=6)) + lines[n][col:]
        else:
            lines[n] = " " * data.draw(st.integers(1, 3)) + lines[n]
    (course / "roadmap.yaml").write_text("".join(lines), encoding="utf-8", errors="surrogatepass")
    outcome(course)


@FAST
@given(doc=values | st.dictionaries(st.sampled_from(["format_version", "pace", "skip", "optional", "order", "add"]),
                                    values, max_size=4).map(lambda d: {"format_version": 1, **d}))
def test_any_learner_overlay_loads_or_fails_in_one_line(course: Path, doc: Any) -> None:
    (course / OVERLAY_FILE).write_text(yaml.safe_dump(doc), encoding="utf-8")
    outcome(course, OVERLAY_FILE, overlay=OVERLAY_FILE)


# -- the command line -------------------------------------------------------------------------

junk = st.text(max_size=20)
unknown_id = junk.filter(lambda s: s not in IDS)


@st.composite
def invocations(draw: Any) -> list[str]:
    """Random arguments to commands that answer at once (no grading run, no editor, no server)."""
    item = draw(st.sampled_from(IDS) | junk)
    return draw(st.sampled_from([
        ["next"], ["list"], ["next", "--json"], ["list", "--json"],
        ["hint", item], ["solution", item], ["solution", item, "--force"], ["reset", item],
        ["done", item], ["skip", item], ["done", item, "--undo"], ["skip", item, "--undo"],
        ["note", "--print", item], ["find", item or "x"], ["find", "-n", draw(junk), item or "x"],
        ["check", draw(unknown_id)], ["check", "--stage", draw(junk.filter(lambda s: s != "basics"))],
        ["check", item, "--all"], ["check", "--all", "--stage", draw(junk)],
        ["check", "--device", draw(junk.filter(lambda s: s not in ("cpu", "cuda"))), item],
        ["check", draw(unknown_id), "--junit", draw(junk)],
        [draw(st.sampled_from(["next", "list", "hint", "check", "solution", "dev", "report"])), draw(junk)],
        [draw(junk)], ["--" + draw(junk)], ["dev", draw(junk)], ["dev", "lock", draw(junk)],
        ["report", "--summary", draw(junk)],
    ]))


def assert_clean(result: Any, args: list[str]) -> None:
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output, (args, result.output)


@FAST
@given(args=invocations())
def test_any_arguments_give_an_answer_or_one_clean_error(course_dir: Path, args: list[str]) -> None:
    assert_clean(CliRunner().invoke(main, args), args)


@FAST
@given(content=st.binary(max_size=300) | values.map(json.dumps)
       | st.lists(st.dictionaries(st.sampled_from(["item_id", "ok", "tests", "duration", "problem", "unofficial"]),
                                  values, max_size=6), max_size=3).map(json.dumps))
def test_any_results_file_gives_a_summary(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = CliRunner().invoke(main, ["report", "--summary", str(path)])
    assert_clean(result, ["report", "--summary", "<fuzzed>"])
    assert result.exit_code == 0 and result.output.startswith("### retreat: ")
