"""`retreat check --junit FILE` writes JUnit XML that CI systems read; `--device` reaches the tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from engine_helpers import solve

from retreat.cli import main
from retreat.grading.junit import junit_xml
from retreat.grading.verdict import TestOutcome as Outcome
from retreat.grading.verdict import Verdict
from retreat.roadmap import Exercise

# The shape of the common JUnit schema (Jenkins' junit-10.xsd, which GitHub, GitLab and most
# report viewers accept): which children and attributes each element may have, which are required.
SHAPE = {
    "testsuites": ({"testsuite"}, {"name", "tests", "failures", "errors", "skipped", "disabled", "time"}, set()),
    "testsuite": ({"properties", "testcase", "system-out", "system-err"},
                  {"name", "tests", "failures", "errors", "skipped", "disabled", "time", "timestamp", "hostname",
                   "id", "package", "file"}, {"name", "tests"}),
    "properties": ({"property"}, set(), set()),
    "property": (set(), {"name", "value"}, {"name", "value"}),
    "testcase": ({"skipped", "error", "failure", "system-out", "system-err"},
                 {"name", "classname", "time", "assertions", "status", "file", "line"}, {"name", "classname", "time"}),
    "failure": (set(), {"message", "type"}, {"message"}),
    "error": (set(), {"message", "type"}, {"message"}),
    "skipped": (set(), {"message"}, set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
NUMERIC = {"tests", "failures", "errors", "skipped", "disabled"}


def assert_junit_shape(root: ET.Element) -> None:
    assert root.tag == "testsuites", "the root element is <testsuites>"

    def walk(el: ET.Element) -> None:
        children, allowed, required = SHAPE[el.tag]
        assert set(el.attrib) <= allowed, f"<{el.tag}> has unexpected attributes {set(el.attrib) - allowed}"
        assert required <= set(el.attrib), f"<{el.tag}> lacks {required - set(el.attrib)}"
        for key in NUMERIC & set(el.attrib):
            assert int(el.get(key)) >= 0, f"<{el.tag} {key}> is a count"
        if "time" in el.attrib:
            assert float(el.get("time")) >= 0, f"<{el.tag} time> is seconds"
        for child in el:
            assert child.tag in children, f"<{child.tag}> may not sit in <{el.tag}>"
            walk(child)
        if el.tag == "testcase":
            outcomes = [c.tag for c in el if c.tag in ("skipped", "error", "failure")]
            assert len(outcomes) <= 1, "a testcase has at most one outcome element"

    walk(root)
    for suite in [root, *root.iter("testsuite")]:
        cases = list(suite.iter("testcase"))
        assert int(suite.get("tests")) == len(cases), f"{suite.get('name')}: tests counts its testcases"
        for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            found = sum(1 for c in cases for child in c if child.tag == tag)
            assert int(suite.get(key, "0")) == found, f"{suite.get('name')}: {key} counts <{tag}>"


def test_check_all_writes_one_suite_per_exercise_and_one_case_per_check(course_dir: Path, tmp_path: Path) -> None:
    solve(course_dir, "01_add.py")
    solve(course_dir, "03_spin.py")
    (course_dir / "exercises/basics/02_greet.py").write_text("def greet(name):\n    return 'hi'\n")
    (course_dir / "exercises/basics/04_boom.py").write_text("import os\nos._exit(0)\n")
    out = tmp_path / "reports" / "results.xml"
    r = CliRunner().invoke(main, ["check", "--all", "--junit", str(out), "--json"])
    assert r.exit_code == 1, r.output
    verdicts = {v["item_id"]: v for v in json.loads(r.output)}
    root = ET.parse(out).getroot()
    assert_junit_shape(root)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["add", "greet", "spin", "boom"]
    for item_id, suite in suites.items():
        cases = [c for c in suite.findall("testcase") if c.get("name") != "run"]
        assert [c.get("name") for c in cases] == [t["name"] for t in verdicts[item_id]["tests"]]
    assert suites["add"].get("failures") == "0" and suites["add"].get("errors") == "0"
    assert {c.get("classname") for c in suites["add"].iter("testcase")} == {"tests.basics.test_add"}
    # A failed check carries our assertion message.
    failure = suites["greet"].find("testcase/failure")
    message = verdicts["greet"]["tests"][0]["message"]
    assert failure is not None and failure.get("message") == message.splitlines()[0] and failure.text == message
    assert "greet('ada') returned" in failure.get("message")
    # A run that exits early is an error even though no check failed.
    run = suites["boom"].find("testcase[@name='run']/error")
    assert run is not None and run.get("type") == "exited-early" and "os._exit()" in run.get("message")
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))


def test_stage_grades_the_exercises_of_one_stage(course_dir: Path, tmp_path: Path) -> None:
    solve(course_dir, "01_add.py")
    r = CliRunner().invoke(main, ["check", "--stage", "nope"])
    assert r.exit_code == 2 and "no stage 'nope' in this course (the stages are basics)" in r.output
    r = CliRunner().invoke(main, ["check", "add", "--stage", "basics"])
    assert r.exit_code == 2 and "not more than one" in r.output


def test_junit_handles_run_problems_control_characters_and_unofficial_grades() -> None:
    ex = Exercise(id="x", title="X", exercise="exercises/s/x.py", solution="solutions/s/x.py",
                  tests="tests/s/test_x.py")
    tests = (Outcome("t::test_a", "test_a", "passed"),
             Outcome("t::test_b", "test_b", "failed", "bad \x00value\x1b[31m\nsecond line", "assertion"),
             Outcome("t::test_c", "test_c", "not run"))
    v = Verdict("x", False, tests, problem="the tests did not finish within 2 s", problem_kind="timeout",
                duration=2.0, output_tail="out\x07put", unofficial="tests/s/test_x.py changed")
    tree = junit_xml([(ex, v)], "course")
    text = ET.tostring(tree.getroot(), encoding="unicode")
    root = ET.fromstring(text)  # what was written parses back
    assert_junit_shape(root)
    suite = root.find("testsuite")
    counts = [suite.get(k) for k in ("tests", "failures", "errors", "skipped")]
    assert counts == ["4", "1", "1", "1"]
    assert suite.find("testcase[@name='test_b']/failure").get("message") == "bad value[31m"
    assert suite.find("properties/property[@name='unofficial']").get("value") == "tests/s/test_x.py changed"
    assert suite.find("testcase[@name='run']/system-out").text == "output"
    # Every check passed but the run did not finish cleanly: still not green.
    clean = Verdict("x", False, tests[:1], problem="exited with code 3", problem_kind="exited-early")
    suite = junit_xml([(ex, clean)]).getroot().find("testsuite")
    assert suite.get("errors") == "1"


def test_device_reaches_the_tests(course_dir: Path) -> None:
    solve(course_dir, "01_add.py")
    tests = course_dir / "tests/basics/test_add.py"
    tests.write_text(tests.read_text() + '''

def test_runs_on_the_device_check_asked_for():
    from retreat.testing import device

    assert str(device()) == "cpu", f"device() is {device()}"
    import os

    assert os.environ.get("RETREAT_DEVICE") == "cpu", "retreat check --device cpu sets RETREAT_DEVICE"
''')
    assert CliRunner().invoke(main, ["check", "add", "--device", "cpu"]).exit_code == 0
    r = CliRunner().invoke(main, ["check", "add"])
    assert r.exit_code == 1 and "retreat check --device cpu sets RETREAT_DEVICE" in r.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_clear_line(course_dir: Path) -> None:
    r = CliRunner().invoke(main, ["check", "add", "--device", "cuda"])
    assert r.exit_code == 2 and (r.exception is None or isinstance(r.exception, SystemExit))
    assert r.output.count("\n") == 1 and "no CUDA device" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["check", "add", "--device", "tpu"])
    assert r.exit_code == 2 and "'tpu' is not one of 'cpu', 'cuda'" in r.output
