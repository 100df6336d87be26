"""Grading in a child process: only a complete report of passing tests is a pass. Every test runs
twice: through the course's grading server (a fork of a warm process per check) and cold (a fresh
interpreter, as `--cold` and RETREAT_COLD do); the promises hold on both paths."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from engine_helpers import run_cli, solve
from grading_helpers import alive

import retreat.env as env
from retreat.course import Course
from retreat.grading.runner import Job
from retreat.grading.service import run


@pytest.fixture(autouse=True, params=["server", "cold"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which way the checks of a test run: through the grading server, or cold."""
    if request.param == "cold":
        monkeypatch.setenv(env.COLD, "1")
    return request.param


def _grade(root: Path, item: str, **kw):
    course = Course(root)
    return run(course, Job(course.exercise(item), **kw))


def _write(root: Path, name: str, body: str) -> None:
    (root / "exercises/basics" / name).write_text(body)


def test_solved_exercise_passes(course_dir: Path) -> None:
    solve(course_dir, "01_add.py")
    v = _grade(course_dir, "add")
    assert v.ok and v.passed == v.total == 2, v


def test_stub_fails_with_todo_messages(course_dir: Path) -> None:
    v = _grade(course_dir, "add")
    assert not v.ok and v.passed == 0 and v.total == 2
    assert all(t.kind == "todo" for t in v.tests)
    assert "not written yet: add()" in v.tests[0].message
    assert "exercises/basics/01_add.py:7" in v.tests[0].message


def test_wrong_answer_shows_the_property(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "def add(a, b):\n    return a - b\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.tests[0].message.startswith("add(2, 3) should be 5")


def test_hanging_import_is_a_timeout_and_the_group_is_killed(course_dir: Path, tmp_path: Path, path: str) -> None:
    if path == "server":
        _grade(course_dir, "add")  # the server's start is not part of the check's time
    marker = tmp_path / "child.pid"
    _write(course_dir, "03_spin.py",
           "import os, subprocess, sys\n"
           f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
           f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
           "while True:\n    pass\n")
    started = time.monotonic()
    v = _grade(course_dir, "spin")
    elapsed = time.monotonic() - started
    assert not v.ok and v.problem_kind == "timeout", v
    assert elapsed < 8 + 5, f"the timeout took {elapsed:.1f} s"
    grandchild = int(marker.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild), "a process the exercise started outlived the timeout"


def test_segfault_is_a_crash(course_dir: Path) -> None:
    _write(course_dir, "04_boom.py", "import ctypes\n\ndef square(x):\n    return ctypes.string_at(0)\n")
    v = _grade(course_dir, "boom")
    assert not v.ok and v.problem_kind == "crashed" and "SIGSEGV" in v.problem, v


@pytest.mark.parametrize("call", ["os._exit(0)", "sys.exit(0)"])
def test_exiting_during_a_test_is_not_a_pass(course_dir: Path, call: str) -> None:
    _write(course_dir, "01_add.py", f"import os, sys\n\ndef add(a, b):\n    {call}\n")
    v = _grade(course_dir, "add")
    assert not v.ok, v
    assert v.problem_kind == "exited-early" or any(t.kind == "exit" for t in v.tests), v


@pytest.mark.parametrize("call", ["os._exit(0)", "sys.exit(0)"])
def test_exiting_at_import_is_not_a_pass(course_dir: Path, call: str) -> None:
    _write(course_dir, "01_add.py", f"import os, sys\n{call}\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.problem_kind in ("exited-early", "import-error"), v


def test_syntax_error_names_the_file_and_line(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "def add(a, b)\n    return a + b\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.problem_kind == "import-error", v
    assert "SyntaxError" in v.problem and "01_add.py" in v.problem, v.problem


def test_cli_check_hang_and_crash_keep_the_database_intact(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    _write(course_dir, "03_spin.py", "while True:\n    pass\n")
    r = run_cli(course_dir, "check", "spin")
    assert r.returncode == 1 and "did not finish within 8 s" in r.stdout, r.stdout + r.stderr
    _write(course_dir, "04_boom.py", "import ctypes\nctypes.string_at(0)\n")
    r = run_cli(course_dir, "check", "boom")
    assert r.returncode == 1 and "crashed (SIGSEGV)" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    db = sqlite3.connect(hermetic / "progress.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT item, ok, outcome FROM attempts ORDER BY seq").fetchall()
    assert rows == [("add", 1, "passed"), ("spin", 0, "timeout"), ("boom", 0, "crashed")]


def test_check_json_lists_every_test(course_dir: Path) -> None:
    r = run_cli(course_dir, "check", "add", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 1 and data["ok"] is False and data["total"] == 2
    assert {t["title"] for t in data["tests"]} == {"adds small numbers", "adds negatives"}


def test_forbidden_call_is_named_by_the_static_scan(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "from operator import add as plus\n\n\ndef add(a, b):\n    return plus(a, b)\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.problem_kind == "forbidden", v
    assert "exercises/basics/01_add.py:1 uses from operator import add (operator.add)" in v.problem


def test_forbidden_call_hidden_from_the_scan_is_caught_at_run_time(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "import operator\n\n\ndef add(a, b):\n"
                                    "    return getattr(operator, 'ad' + 'd')(a, b)\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.passed == 0, v
    assert v.tests[0].kind == "forbidden" and "line 5 calls operator.add" in v.tests[0].message, v.tests[0]


def test_unbounded_allocation_is_a_memory_failure(course_dir: Path) -> None:
    _write(course_dir, "04_boom.py", "def square(x):\n    hog = []\n    while True:\n"
                                     "        hog.append(bytearray(256 * 1024 * 1024))\n")
    v = _grade(course_dir, "boom")
    assert not v.ok and v.tests and v.tests[0].kind == "memory", v
    assert "ran out of memory" in v.tests[0].message


def test_megabytes_of_output_do_not_matter(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "import sys\n\ndef add(a, b):\n    sys.stdout.write('x' * 20_000_000)\n"
                                    "    print('y' * 5_000_000, file=sys.stderr)\n    return a + b\n")
    v = _grade(course_dir, "add")
    assert v.ok, v.problem
    assert len(v.output_tail) <= 20_000


def test_replacing_the_test_helpers_is_not_a_pass(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "import math\nmath.isclose = lambda *a, **k: True\n\n"
                                    "def add(a, b):\n    return a + b\n")
    v = _grade(course_dir, "add")
    assert not v.ok and v.tests[0].kind == "tampered", v
    assert "math.isclose" in v.tests[0].message


def test_the_report_location_is_hidden_from_the_code(course_dir: Path) -> None:
    _write(course_dir, "01_add.py", "import os\nassert 'RETREAT_REPORT' not in os.environ\n"
                                    "assert 'RETREAT_RUN_ID' not in os.environ\n\ndef add(a, b):\n    return a + b\n")
    assert _grade(course_dir, "add").ok
