"""Grading faults: a report too large to trust, and a run that did not collect the tests the
course expects (recorded with retreat.lock), are failures with one line."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_helpers import solve
from grading_helpers import grade

from retreat.cli import main
from retreat.course import Course
from retreat.grading import runner, verdict
from retreat.grading.lock import LOCK_FILE, expected_tests
from retreat.grading.plugin import _Report
from retreat.grading.verdict import Verdict, read_verdict

ADD_IDS = ["tests/basics/test_add.py::test_adds_small_numbers", "tests/basics/test_add.py::test_adds_negatives"]


def _lock(course_dir: Path) -> dict:
    r = CliRunner().invoke(main, ["dev", "lock"])
    assert r.exit_code == 0 and "wrote retreat.lock" in r.output, r.output
    return json.loads((course_dir / LOCK_FILE).read_text())


def _events(run_id: str, n: int) -> str:
    line = json.dumps({"event": "collected", "run_id": run_id, "nodeid": "t.py::test_x", "name": "test_x",
                       "doc": "x" * 200}) + "\n"
    return line * n


def _read_with_peak(report: Path) -> tuple[Verdict, int]:
    """Read a report back, with the peak memory Python allocated while reading it."""
    tracemalloc.start()
    try:
        v = read_verdict("add", report, "r1", 0, False, 10.0, 1.0, "", None)
        return v, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_oversized_report_is_a_failure_read_with_bounded_memory(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict, "REPORT_LIMIT", 256 * 1024)
    report = tmp_path / "report.jsonl"
    report.write_text(_events("r1", 40_000))  # about 11 MB of well-formed lines
    v, peak = _read_with_peak(report)
    assert not v.ok and v.problem_kind == "report-too-large", v.problem
    assert "\n" not in v.problem and "256 KB" in v.problem, v.problem
    assert peak < 4 * 256 * 1024, f"reading the report took {peak} bytes"


def test_one_huge_line_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict, "REPORT_LIMIT", 64 * 1024)
    report = tmp_path / "report.jsonl"
    report.write_bytes(b"x" * (5 * 1024 * 1024))
    v, peak = _read_with_peak(report)
    assert not v.ok and v.problem_kind == "report-too-large", v
    assert peak < 1024 * 1024, peak


def test_the_plugin_refuses_to_write_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "report.jsonl"
    report = _Report(str(path), "r1", limit=4096)
    for i in range(200):
        report.write("collected", nodeid=f"t.py::test_{i}", name=f"test_{i}", doc="d" * 50)
    report.write("finished", exitstatus=0, collected=200)
    assert path.stat().st_size <= 4096
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert events[-1]["event"] == "overflow" and not [e for e in events if e["event"] == "finished"]
    v = read_verdict("add", path, "r1", 0, False, 10.0, 1.0, "", None)
    assert not v.ok and v.problem_kind == "report-too-large", v


def test_huge_facts_and_docstrings_are_cut_not_written_whole(course_dir: Path) -> None:
    (course_dir / "exercises/basics/01_add.py").write_text(
        "class Wrong(AssertionError):\n    facts = {'blob': 'x' * 50_000_000}\n\n"
        "def add(a, b):\n    raise Wrong('add went wrong')\n")
    v = grade(course_dir, "add")
    assert not v.ok and v.problem is None and v.tests[0].message == "add went wrong", v.problem
    assert v.tests[0].facts is None


def test_code_that_floods_the_report_file_is_not_a_pass(course_dir: Path) -> None:
    (course_dir / "exercises/basics/01_add.py").write_text(
        "import os\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n"
        "        continue  # the listing's own descriptor\n"
        "    if target.endswith('report.jsonl'):\n"
        "        for _ in range(40):\n"
        "            os.write(int(fd), b'{}' + b' ' * 1_000_000 + b'\\n')\n\n"
        "def add(a, b):\n    return a + b\n")
    v = grade(course_dir, "add")
    assert not v.ok and v.problem_kind == "report-too-large", v


# -- the test ids a pass requires come from retreat.lock --------------------------------------------

def test_dev_lock_records_the_expected_test_ids(course_dir: Path) -> None:
    lock = _lock(course_dir)
    assert lock["format"] == 2
    assert lock["tests"]["add"] == ADD_IDS  # in the order the module defines them
    assert lock["tests"]["greet"] == ["tests/basics/test_greet.py::test_greets_by_name"]
    assert set(lock["tests"]) == {"add", "greet", "spin", "boom"}
    assert expected_tests(Course(course_dir), Course(course_dir).exercise("add")) == ADD_IDS


def _narrowed(monkeypatch: pytest.MonkeyPatch, *extra: str) -> None:
    """Whatever narrows a run (a shell option, a plugin, a hook): here, extra pytest arguments."""
    original = runner.pytest_args

    def narrowed(*args, **kw):
        return [*original(*args, **kw), *extra]

    monkeypatch.setattr(runner, "pytest_args", narrowed)


def test_a_run_that_collects_fewer_tests_than_the_lock_expects_fails_in_one_line(
        course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solve(course_dir, "01_add.py")
    _lock(course_dir)
    _narrowed(monkeypatch, "-o", "python_functions=test_adds_small*")
    v = grade(course_dir, "add")
    assert not v.ok and v.problem_kind == "wrong-tests", v
    assert "1 of the 2 tests" in v.problem and "adds negatives" in v.problem and "\n" not in v.problem
    assert (v.passed, v.total) == (1, 2)
    assert [t.outcome for t in v.tests] == ["passed", "not run"]


def test_without_the_lock_the_collected_tests_decide(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solve(course_dir, "01_add.py")
    _narrowed(monkeypatch, "-o", "python_functions=test_adds_small*")
    v = grade(course_dir, "add")
    assert v.ok and v.total == 1, v  # no lock, no claim: the course makes none either


def test_a_run_that_collects_a_test_the_lock_does_not_know_fails(course_dir: Path) -> None:
    solve(course_dir, "01_add.py")
    _lock(course_dir)
    lock = json.loads((course_dir / LOCK_FILE).read_text())
    lock["tests"]["add"] = [ADD_IDS[0], "tests/basics/test_add.py::test_adds_floats"]
    (course_dir / LOCK_FILE).write_text(json.dumps(lock))
    v = grade(course_dir, "add")
    assert not v.ok and v.problem_kind == "wrong-tests", v
    assert "adds floats" in v.problem and "\n" not in v.problem, v.problem


def test_an_edited_test_module_is_graded_by_what_it_collects_and_is_unofficial(course_dir: Path) -> None:
    solve(course_dir, "01_add.py")
    _lock(course_dir)
    tests = course_dir / "tests/basics/test_add.py"
    tests.write_text(tests.read_text() + "\n\ndef test_adds_zero():\n    assert ex.add(0, 0) == 0, 'zero'\n")
    assert expected_tests(Course(course_dir), Course(course_dir).exercise("add")) is None
    r = CliRunner().invoke(main, ["check", "add", "--json"])
    data = json.loads(r.output)
    assert data["ok"] and data["total"] == 3 and "unofficial" in data["unofficial"], data
