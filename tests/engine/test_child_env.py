"""The learner's shell and scratch files do not decide what is graded: the grading child has a
clean pytest environment, the engine's own pytest configuration and a path on which nothing
shadows the standard library (retreat/grading/child.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import solve
from grading_helpers import grade, write_exercise

import retreat.env as env
from retreat.grading.child import clean_environ, safe_sys_path

# Right for the first test of `add` only: a run that drops the second test would pass it.
HALF_RIGHT = "def add(a, b):\n    return 5\n"


@pytest.mark.parametrize("addopts", [
    "-o python_functions=test_adds_small*",
    "-k small",
    "--deselect tests/basics/test_add.py::test_adds_negatives",
    "-x --maxfail=1 -o python_functions=test_adds_small*",
])
def test_the_shells_pytest_addopts_change_nothing(course_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                   addopts: str) -> None:
    write_exercise(course_dir, "01_add.py", HALF_RIGHT)
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    v = grade(course_dir, "add")
    assert not v.ok and (v.passed, v.total) == (1, 2), v


def test_the_shells_pytest_plugins_are_not_loaded(course_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "loaded"
    plugin = f"open({str(marker)!r}, 'w').write('loaded')\n" \
             "def pytest_collection_modifyitems(items):\n    items[:] = items[:1]\n"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "shellplug.py").write_text(plugin)
    (course_dir / "rootplug.py").write_text(plugin)  # the course root, where a plain `pytest` would look
    write_exercise(course_dir, "01_add.py", HALF_RIGHT)
    for name in ("shellplug", "rootplug", "shellplug,rootplug"):
        monkeypatch.setenv("PYTHONPATH", str(plugins))
        monkeypatch.setenv("PYTEST_PLUGINS", name)
        v = grade(course_dir, "add")
        assert not v.ok and (v.passed, v.total) == (1, 2), (name, v)
        assert not marker.exists(), f"PYTEST_PLUGINS={name} loaded a plugin into the grading child"


@pytest.mark.parametrize("config", [
    ("pytest.ini", "[pytest]\npython_functions = test_adds_small*\n"),
    ("pytest.ini", "[pytest]\naddopts = -k small\n"),
    ("tox.ini", "[pytest]\npython_functions = test_adds_small*\n"),
    ("setup.cfg", "[tool:pytest]\npython_functions = test_adds_small*\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\npython_functions = ['test_adds_small*']\n"),
    ("tests/pytest.ini", "[pytest]\npython_functions = test_adds_small*\n"),
])
def test_course_and_scratch_pytest_configuration_is_not_read(course_dir: Path, config: tuple[str, str]) -> None:
    name, text = config
    (course_dir / name).write_text(text)
    write_exercise(course_dir, "01_add.py", HALF_RIGHT)
    v = grade(course_dir, "add")
    assert not v.ok and (v.passed, v.total) == (1, 2), v


def test_grader_variables_from_the_shell_are_replaced(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_exercise(course_dir, "01_add.py", HALF_RIGHT)
    monkeypatch.setenv(env.TARGET, "solution")
    monkeypatch.setenv(env.OVERRIDES, f'{{"add": "{course_dir}/solutions/basics/01_add.py"}}')
    v = grade(course_dir, "add")
    assert not v.ok and (v.passed, v.total) == (1, 2), v


USES_THE_STDLIB = ("import json, random, typing\n\n"
                   "def add(a: typing.Any, b: typing.Any) -> typing.Any:\n"
                   "    assert 0 <= random.random() < 1 and json.loads('[1]') == [1]\n"
                   "    return a + b\n")


@pytest.mark.parametrize("where", [".", "exercises/basics", "tests/basics"])
@pytest.mark.parametrize("name", ["random.py", "typing.py", "json.py"])
def test_a_scratch_module_does_not_shadow_the_standard_library(course_dir: Path, where: str, name: str) -> None:
    write_exercise(course_dir, "01_add.py", USES_THE_STDLIB)
    (course_dir / where / name).write_text(f"raise RuntimeError('the scratch {where}/{name} was imported')\n")
    v = grade(course_dir, "add")
    assert v.ok and (v.passed, v.total) == (2, 2), v.problem or v.tests


def test_pythonpath_does_not_shadow_the_standard_library(course_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for name in ("random.py", "json.py"):
        (shadow / name).write_text("raise RuntimeError('PYTHONPATH reached the grading child')\n")
    monkeypatch.setenv("PYTHONPATH", f"{shadow}{os.pathsep}{course_dir}")
    (course_dir / "typing.py").write_text("raise RuntimeError('the course root is on the path')\n")
    write_exercise(course_dir, "01_add.py", USES_THE_STDLIB)
    v = grade(course_dir, "add")
    assert v.ok, v.problem or v.tests


def test_cli_check_with_a_scratch_random_in_the_course_root(course_dir: Path) -> None:
    # The `retreat` script, as a learner runs it (`python -m retreat.cli` from the course root would
    # put the root on the parent's own path).
    solve(course_dir, "01_add.py")
    (course_dir / "random.py").write_text("print('scratch')\nraise SystemExit(3)\n")
    script = Path(sys.executable).parent / "retreat"
    r = subprocess.run([str(script), "check", "add"], cwd=course_dir, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTEST_ADDOPTS="-k small"))
    assert r.returncode == 0 and "2/2 checks passed" in r.stdout, r.stdout + r.stderr


def test_clean_environ_keeps_the_learners_world_and_drops_what_changes_grading() -> None:
    shell = {"PATH": "/usr/bin", "HOME": "/home/me", "LANG": "C.UTF-8", "CUDA_VISIBLE_DEVICES": "0",
             "OMP_NUM_THREADS": "2", "PYTEST_ADDOPTS": "-k x", "PYTEST_PLUGINS": "p", "PYTEST_THEME": "x",
             "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "", "PYTEST_CURRENT_TEST": "t", "PYTHONPATH": "/x",
             "PYTHONHOME": "/y", "PYTHONSTARTUP": "/s.py", "PYTHONSAFEPATH": "", "PYTHONOPTIMIZE": "2",
             "PYTHONWARNINGS": "error", "PYTHONINSPECT": "1", "PYTHONBREAKPOINT": "pdb.set_trace",
             "PYTHONUTF8": "1", "PYTHONIOENCODING": "latin-1", "PYTHONUSERBASE": "/u", "PYTHONNOUSERSITE": "1",
             env.TARGET: "solution", env.OVERRIDES: "{}", env.DEVICE: "cuda", env.REPORT: "/r",
             env.MEMORY_MB: "2048", env.NOW: "2026-01-01"}
    out = clean_environ(shell)
    for kept in ("PATH", "HOME", "LANG", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTHONUTF8",
                 "PYTHONUSERBASE", "PYTHONNOUSERSITE", env.MEMORY_MB, env.NOW):
        assert out[kept] == shell[kept], kept
    assert not [k for k in out if k.startswith("PYTEST_") and k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
    assert out["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    for dropped in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONOPTIMIZE", "PYTHONWARNINGS",
                    "PYTHONINSPECT", "PYTHONBREAKPOINT", env.TARGET, env.OVERRIDES, env.DEVICE, env.REPORT):
        assert dropped not in out, dropped
    assert out["PYTHONSAFEPATH"] == "1" and out["PYTHONIOENCODING"] == "utf-8"
    assert out["PYTHONDONTWRITEBYTECODE"] == "1" and out["PYTHONHASHSEED"] == "0"


def test_safe_sys_path_drops_what_precedes_the_standard_library(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    stdlib = os.path.dirname(os.__file__)
    zipped = os.path.join(sys.base_prefix, "lib", f"python{sys.version_info[0]}{sys.version_info[1]}.zip")
    first = min(i for i, p in enumerate(sys.path) if p in (stdlib, zipped))
    rest = sys.path[first:]
    monkeypatch.setattr(sys, "path", ["", str(tmp_path), os.getcwd(), *rest])
    safe_sys_path()
    assert sys.path == rest and stdlib in sys.path
