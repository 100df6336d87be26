"""Verdicts as JUnit XML, the report format CI systems read (GitHub Actions, GitLab, Jenkins).

One <testsuite> per exercise, one <testcase> per check, named after the test function, with
the check's module as its classname (as pytest's own --junitxml does). A failed check carries
our assertion message; a problem with the run as a whole (timeout, crash, early exit, a
forbidden call) is one more testcase, `run`, with an <error>, so a run that cannot be trusted
is never green. An unofficial grade is a <property> of its suite.
"""

from __future__ import annotations

import io
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from retreat.files import atomic_write
from retreat.grading.verdict import Verdict
from retreat.roadmap import Exercise

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    """Text XML 1.0 can hold: control characters a test printed are dropped."""
    return _NOT_XML.sub("", str(value))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


def testsuite(ex: Exercise, v: Verdict, timestamp: str) -> ET.Element:
    classname = ex.tests.removesuffix(".py").replace("/", ".")
    suite = ET.Element("testsuite", name=_text(ex.id), timestamp=timestamp, hostname=_text(socket.gethostname()),
                       time=_seconds(v.duration))
    props = ET.SubElement(suite, "properties")
    for name, value in (("title", ex.title), ("file", ex.exercise), ("outcome", v.outcome),
                        ("unofficial", v.unofficial)):
        if value:
            ET.SubElement(props, "property", name=name, value=_text(value))
    failures = errors = skipped = 0
    for t in v.tests:
        case = ET.SubElement(suite, "testcase", name=_text(t.name), classname=_text(classname),
                             time=_seconds(t.duration))
        message = _text(t.message)
        if t.outcome == "failed":
            failures += 1
            el = ET.SubElement(case, "failure", message=_first_line(message) or "failed",
                               type=t.kind or "AssertionError")
            el.text = message
        elif t.outcome == "error":
            errors += 1
            el = ET.SubElement(case, "error", message=_first_line(message) or "error", type=t.kind or "error")
            el.text = message
        elif t.outcome != "passed":  # skipped, or not run because the run stopped
            skipped += 1
            ET.SubElement(case, "skipped", message=_first_line(message) or t.outcome)
    if v.problem or (not v.ok and not v.tests):
        errors += 1
        case = ET.SubElement(suite, "testcase", name="run", classname=_text(classname), time=_seconds(v.duration))
        problem = _text(v.problem or "the run failed")
        el = ET.SubElement(case, "error", message=_first_line(problem), type=v.problem_kind or "run")
        el.text = problem
        if v.output_tail.strip():
            ET.SubElement(case, "system-out").text = _text(v.output_tail)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    return suite


def junit_xml(results: Iterable[tuple[Exercise, Verdict]], name: str = "retreat") -> ET.ElementTree:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=_text(name))
    for ex, v in results:
        root.append(testsuite(ex, v, stamp))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    root.set("time", _seconds(sum(float(s.get("time", "0")) for s in root)))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(path: Path, results: Iterable[tuple[Exercise, Verdict]], name: str = "retreat") -> None:
    """Write the JUnit XML report (atomically: a reader never sees half a file)."""
    out = io.BytesIO()
    junit_xml(results, name).write(out, encoding="utf-8", xml_declaration=True)
    atomic_write(path, out.getvalue())
