"""A grade made with edited tests, solutions or roadmap is given but marked unofficial, and recorded so."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from engine_helpers import solve

from retreat.cli import main
from retreat.course import Course
from retreat.dev.check import ExerciseReport, lock_if_sound
from retreat.grading.lock import LOCK_FILE, build_lock, unofficial_reason
from retreat.learner.progress import Progress

UNOFFICIAL = "changed since the course was locked: this grade is unofficial"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def _lock(course_dir: Path) -> None:
    r = invoke("dev", "lock")
    assert r.exit_code == 0 and "wrote retreat.lock" in r.output, r.output


def test_a_course_without_a_lock_claims_nothing(course_dir: Path) -> None:
    solve(course_dir, "01_add.py")
    r = invoke("check", "add", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["unofficial"] is None
    assert not (course_dir / LOCK_FILE).exists()


def test_edited_tests_make_the_grade_unofficial_and_it_is_recorded(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    _lock(course_dir)
    r = invoke("check", "add")
    assert r.exit_code == 0 and "unofficial" not in r.output
    tests = course_dir / "tests/basics/test_add.py"
    tests.write_text(tests.read_text() + "\n\ndef test_anything():\n    assert True, 'always'\n")
    r = invoke("check", "add")
    assert r.exit_code == 0, r.output
    assert f"tests/basics/test_add.py {UNOFFICIAL}" in r.output
    data = json.loads(invoke("check", "add", "--json").output)
    assert data["unofficial"] == f"tests/basics/test_add.py {UNOFFICIAL}"
    recorded = [a.unofficial for a in Progress(hermetic).attempts("add")]
    assert recorded == [None, f"tests/basics/test_add.py {UNOFFICIAL}", f"tests/basics/test_add.py {UNOFFICIAL}"]


def test_the_exercises_own_change_is_named_first(course_dir: Path) -> None:
    _lock(course_dir)
    course = Course(course_dir)
    (course_dir / "solutions/basics/02_greet.py").write_text("def greet(name):\n    return 'hello'\n")
    assert unofficial_reason(course, "add") == f"solutions/basics/02_greet.py {UNOFFICIAL}"
    (course_dir / "solutions/basics/01_add.mutants.yaml").write_text("mutants: []\n")
    assert unofficial_reason(course, "add") == f"solutions/basics/01_add.mutants.yaml (and 1 more) {UNOFFICIAL}"
    assert unofficial_reason(course, "greet") == f"solutions/basics/02_greet.py (and 1 more) {UNOFFICIAL}"


def test_roadmap_shared_files_and_removed_files_count(course_dir: Path) -> None:
    _lock(course_dir)
    course = Course(course_dir)
    assert unofficial_reason(course, "add") is None
    conftest = course_dir / "tests/conftest.py"
    original = conftest.read_text()
    conftest.write_text(original + "# a learner's edit\n")
    assert unofficial_reason(course, "add") == f"tests/conftest.py {UNOFFICIAL}"
    conftest.write_text(original)
    roadmap = course_dir / "roadmap.yaml"
    roadmap.write_text(roadmap.read_text() + "# an edit that changes no field still counts\n")
    assert unofficial_reason(Course(course_dir), "add") == f"roadmap.yaml {UNOFFICIAL}"
    (course_dir / "solutions/basics/04_boom.mutants.yaml").unlink()
    assert "(and 1 more)" in unofficial_reason(Course(course_dir), "add")


def test_line_endings_do_not_matter(course_dir: Path) -> None:
    _lock(course_dir)
    tests = course_dir / "tests/basics/test_add.py"
    tests.write_bytes(tests.read_bytes().replace(b"\n", b"\r\n"))
    assert unofficial_reason(Course(course_dir), "add") is None


def test_an_unreadable_lock_makes_grades_unofficial(course_dir: Path) -> None:
    (course_dir / LOCK_FILE).write_text("{not json")
    reason = unofficial_reason(Course(course_dir), "add")
    assert reason is not None and reason.startswith("retreat.lock cannot be read") and reason.endswith("unofficial")
    (course_dir / LOCK_FILE).write_text(json.dumps({"format": 99}))
    assert "cannot be read" in unofficial_reason(Course(course_dir), "add")


def test_dev_lock_check_names_what_is_stale(course_dir: Path) -> None:
    assert invoke("dev", "lock", "--check").exit_code == 1
    _lock(course_dir)
    r = invoke("dev", "lock", "--check")
    assert r.exit_code == 0 and "up to date" in r.output
    (course_dir / "tests/basics/test_greet.py").write_text("# emptied\n")
    r = invoke("dev", "lock", "--check")
    assert r.exit_code == 1 and "exercise greet: tests/basics/test_greet.py changed" in r.output
    assert "already up to date" not in invoke("dev", "lock").output
    assert "already up to date" in invoke("dev", "lock").output


def test_a_sound_whole_course_check_refreshes_the_lock(course_dir: Path) -> None:
    # The fixture's spin exercise takes its whole timeout to fail; without it the check is quick.
    roadmap = course_dir / "roadmap.yaml"
    text = roadmap.read_text()
    start, end = text.index("      - id: spin"), text.index("      - id: boom")
    roadmap.write_text(text[:start] + text[end:])
    for rel in ("exercises/basics/03_spin.py", "solutions/basics/03_spin.py",
                "solutions/basics/03_spin.mutants.yaml", "tests/basics/test_spin.py"):
        (course_dir / rel).unlink()
    r = invoke("dev", "check", "-j", "2")
    assert r.exit_code == 0, r.output
    assert "wrote retreat.lock" in r.output
    lock = json.loads((course_dir / LOCK_FILE).read_text())
    assert lock == build_lock(Course(course_dir)) and set(lock["exercises"]) == {"add", "greet", "boom"}



def test_only_a_sound_whole_course_check_locks(course_dir: Path) -> None:
    course = Course(course_dir)
    sound = [ExerciseReport("add"), ExerciseReport("greet")]
    assert lock_if_sound(course, sound, [], ["add"]) is None  # some ids only
    assert lock_if_sound(course, sound, ["stray file: x"], None) is None
    assert lock_if_sound(course, [*sound, ExerciseReport("boom", problems=["no hints"])], [], None) is None
    assert not (course_dir / LOCK_FILE).exists()
    assert lock_if_sound(course, sound, [], None) == (course_dir / LOCK_FILE, True)


# -- every file that can change grading is locked (format 2) ------------------------------------

def test_the_lock_covers_conftest_ini_files_the_pytest_section_and_root_python_files(course_dir: Path) -> None:
    for rel, text in [("conftest.py", "# root\n"), ("tests/basics/conftest.py", "# stage\n"),
                      ("pytest.ini", "[pytest]\n"), ("tox.ini", "[pytest]\n"), ("setup.cfg", "[tool:pytest]\n"),
                      ("pyproject.toml", "[project]\nname = 'x'\n\n[tool.pytest.ini_options]\naddopts = ''\n"),
                      ("helpers.py", "X = 1\n")]:
        (course_dir / rel).write_text(text)
    _lock(course_dir)
    shared = json.loads((course_dir / LOCK_FILE).read_text())["shared"]
    for key in ("conftest.py", "tests/conftest.py", "tests/basics/conftest.py", "pytest.ini", "tox.ini", "setup.cfg",
                "pyproject.toml [tool.pytest]", "helpers.py"):
        assert key in shared, key
    course = Course(course_dir)
    assert unofficial_reason(course, "add") is None
    for rel in ("conftest.py", "tests/basics/conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "helpers.py"):
        path = course_dir / rel
        original = path.read_text()
        path.write_text(original + "# edited\n")
        assert unofficial_reason(course, "add") == f"{rel} {UNOFFICIAL}", rel
        path.write_text(original)
    pyproject = course_dir / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original.replace("name = 'x'", "name = 'y'"))  # not the pytest section: no matter
    assert unofficial_reason(course, "add") is None
    pyproject.write_text(original.replace("addopts = ''", "addopts = '-k small'"))
    assert unofficial_reason(course, "add") == f"pyproject.toml [tool.pytest] {UNOFFICIAL}"


def test_a_conftest_added_after_the_lock_makes_grades_unofficial(course_dir: Path) -> None:
    _lock(course_dir)
    course = Course(course_dir)
    (course_dir / "tests/basics/conftest.py").write_text("def pytest_collection_modifyitems(items):\n    pass\n")
    reason = unofficial_reason(course, "add")
    assert reason == "tests/basics/conftest.py was added since the course was locked: this grade is unofficial"
    (course_dir / "tests/basics/conftest.py").unlink()
    (course_dir / "conftest.py").write_text("# a scratch conftest at the root\n")
    assert unofficial_reason(course, "add").startswith("conftest.py was added")


def test_a_scratch_python_file_added_to_the_root_keeps_grades_official(course_dir: Path) -> None:
    # The grading child never has the course root on its path, so a new root module cannot reach it.
    _lock(course_dir)
    (course_dir / "random.py").write_text("raise RuntimeError('scratch')\n")
    (course_dir / "pytest.ini").write_text("[pytest]\naddopts = -k nothing\n")
    assert unofficial_reason(Course(course_dir), "add") is None


def test_a_different_engine_makes_grades_unofficial(course_dir: Path, monkeypatch) -> None:
    from retreat.grading import lock as lock_module

    _lock(course_dir)
    assert json.loads((course_dir / LOCK_FILE).read_text())["engine"] == {
        lock_module.ENGINE_KEY: lock_module.engine_digest()}
    monkeypatch.setattr(lock_module, "engine_digest", lambda: "0" * 64)
    reason = unofficial_reason(Course(course_dir), "add")
    assert reason == f"{lock_module.ENGINE_KEY} {UNOFFICIAL}"
    r = invoke("dev", "lock", "--check")
    assert r.exit_code == 1 and "engine" in r.output


def test_engine_digest_covers_the_grading_code() -> None:
    from retreat.grading import lock as lock_module

    names = {p.relative_to(lock_module.ENGINE_ROOT).as_posix() for p in lock_module.engine_files()}
    assert {"retreat/grading/plugin.py", "retreat/grading/runner.py", "retreat/grading/child.py",
            "retreat/grading/supervisor.py", "retreat/grading/verdict.py", "retreat/loader.py",
            "retreat/testing.py"} <= names
