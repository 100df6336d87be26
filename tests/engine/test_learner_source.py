"""The learner's file is read as Python reads it: a coding line, a BOM, CRLF line endings. A file
Python cannot read (a NUL byte, bytes its encoding does not allow) is one line naming the file and
the line, and a failing verdict; never a traceback, never "line None"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from engine_helpers import run_cli

from retreat.course import Course
from retreat.grading.runner import Job, run_job
from retreat.grading.service import _grade
from retreat.learner.progress import DB_NAME
from retreat.loader import ExerciseLoadError, import_file
from retreat.markers import make_stub
from retreat.site.source import exercise_source
from retreat.source import SourceError, decode_source

ADD = "def add(a, b):\n    return a + b\n"
LATIN1 = ("# -*- coding: latin-1 -*-\n# Ajouté: la somme, café compris.\nNAME = 'é'\n\n\n" + ADD).encode("latin-1")
SPELLINGS = {
    "latin-1 with a coding line": LATIN1,
    "a BOM and CRLF": b"\xef\xbb\xbf" + ADD.replace("\n", "\r\n").encode(),
    "old Mac line ends": ADD.replace("\n", "\r").encode(),
    "cp1252 with a vim modeline": ("# vim: set fileencoding=cp1252 :\n# “quotes”\n" + ADD).encode("cp1252"),
}
UNREADABLE = [  # (what the file holds, its bytes, what the one line says)
    ("a NUL byte", (ADD + "\0\n").encode(), "line 3: a NUL byte"),
    ("Latin-1 bytes without a coding line", b"# caf\xe9\n" + ADD.encode(), "line 1: not valid UTF-8"),
    ("UTF-16", ADD.encode("utf-16"), "line 1: a NUL byte"),
    ("an unknown coding line", b"# coding: klingon\n" + ADD.encode(), "line 1: unknown encoding: klingon"),
    ("ASCII declared, Latin-1 written", b"# coding: ascii\n" + ADD.encode() + b"# \xe9\n", "line 4: not valid ASCII"),
]


def learner(root: Path) -> Path:
    return root / "exercises/basics/01_add.py"


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_a_file_python_runs_is_graded_whatever_its_encoding(course_dir: Path, spelling: str) -> None:
    learner(course_dir).write_bytes(SPELLINGS[spelling])
    course = Course(course_dir)
    v = _grade(course, Job(course.exercise("add")))
    assert v.ok and v.passed == 2, v


def test_a_latin1_file_passes_on_the_command_line_without_a_traceback(course_dir: Path) -> None:
    learner(course_dir).write_bytes(LATIN1)
    r = run_cli(course_dir, "check", "add")
    assert r.returncode == 0 and "✓ add passed" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr


def test_a_forbidden_call_in_a_latin1_file_is_still_found(course_dir: Path) -> None:
    text = ("# -*- coding: latin-1 -*-\n# é\nfrom operator import add as plus\n\n\n"
            "def add(a, b):\n    return plus(a, b)\n")
    learner(course_dir).write_bytes(text.encode("latin-1"))
    course = Course(course_dir)
    v = run_job(course, Job(course.exercise("add")))
    assert not v.ok and v.problem_kind == "forbidden", v
    assert "exercises/basics/01_add.py:3 uses from operator import add" in v.problem


@pytest.mark.parametrize("name, data, needle", UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_source_is_one_line_and_a_failing_verdict(course_dir: Path, hermetic: Path, name: str,
                                                             data: bytes, needle: str) -> None:
    learner(course_dir).write_bytes(data)
    r = run_cli(course_dir, "check", "add")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"exercises/basics/01_add.py: {needle}" in r.stdout, r.stdout
    assert "Traceback" not in r.stdout + r.stderr and "line None" not in r.stdout and "Error" not in r.stderr
    problems = [line for line in r.stdout.splitlines() if "01_add.py: line" in line]
    assert len(problems) == 1, r.stdout
    db = sqlite3.connect(hermetic / DB_NAME)
    assert db.execute("SELECT ok, outcome FROM attempts").fetchall() == [(0, "unreadable")]
    db.close()


def test_the_loader_names_the_line_python_does_not(course_dir: Path) -> None:
    """A support module or an earlier exercise imported by the loader gets the same line."""
    path = course_dir / "exercises/basics/01_add.py"
    path.write_bytes(b"x = 1\ny = 2\n\0\n")
    with pytest.raises(ExerciseLoadError, match=r"line 3: a NUL byte") as info:
        import_file(path, "retreat_test_nul_module")
    assert "line None" not in str(info.value)


def test_a_stub_saved_with_crlf_and_a_bom_is_still_the_pristine_stub(course_dir: Path, hermetic: Path) -> None:
    stub = make_stub((course_dir / "solutions/basics/01_add.py").read_text(), "solutions/basics/01_add.py")
    learner(course_dir).write_bytes(b"\xef\xbb\xbf" + stub.replace("\n", "\r\n").encode())
    r = run_cli(course_dir, "reset", "add")
    assert r.returncode == 0 and "is the pristine stub." in r.stdout, r.stdout + r.stderr
    assert not (hermetic / "backups").exists()


def test_the_site_reads_a_solution_in_its_declared_encoding(course_dir: Path) -> None:
    solution = course_dir / "solutions/basics/01_add.py"
    latin1 = solution.read_bytes().replace(b"Add two", b"Ajout\xe9: add two")
    solution.write_bytes(b"# -*- coding: latin-1 -*-\n" + latin1)
    source = exercise_source(course_dir, "solutions/basics/01_add.py", "tests/basics/test_add.py")
    assert source.task.startswith("Ajouté") and [n.name for n in source.names] == ["add"]


def test_decoding_agrees_with_python_on_every_spelling() -> None:
    for data in SPELLINGS.values():
        text = decode_source(data, "x.py")
        assert "\r" not in text and "def add(a, b):" in text
        compile(data, "x.py", "exec")  # Python reads it too
    with pytest.raises(SourceError, match="x.py: line 2: a NUL byte"):
        decode_source(b"a = 1\n\0", "x.py")
