"""Read the child's structured report into a verdict. Only a complete, matching report can pass,
in which every test the course expects (retreat.lock, when it records them) is listed as passed.

The report is read a line at a time up to REPORT_LIMIT bytes, never whole: a report larger than
that (the plugin refuses to write past it; anything else that writes to the file is not ours) is
a failure with one line.
"""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPORT_LIMIT = 8 * 1024 * 1024
"""The largest report a run may leave, in bytes; the plugin stops writing before it."""


@dataclass(frozen=True)
class TestOutcome:
    nodeid: str
    name: str
    outcome: str  # passed, failed, error, skipped, not run
    message: str = ""
    kind: str = ""  # assertion, todo, error, exit
    facts: dict[str, Any] | None = None
    duration: float = 0.0

    @property
    def title(self) -> str:
        """The test's name as a property: test_rows_sum_to_one -> rows sum to one."""
        base = self.name.split("[", 1)
        text = base[0].removeprefix("test_").replace("_", " ")
        return text + (f" [{base[1]}" if len(base) > 1 else "")


@dataclass(frozen=True)
class Verdict:
    item_id: str
    ok: bool
    tests: tuple[TestOutcome, ...]
    problem: str | None = None
    """What went wrong with the run as a whole (timeout, crash, early exit, import error)."""
    problem_kind: str | None = None
    duration: float = 0.0
    file_hash: str | None = None
    output_tail: str = ""
    unofficial: str | None = None

    @property
    def passed(self) -> int:
        return sum(t.outcome == "passed" for t in self.tests)

    @property
    def total(self) -> int:
        return len(self.tests)

    @property
    def outcome(self) -> str:
        return "passed" if self.ok else (self.problem_kind or "failed")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(passed=self.passed, total=self.total, outcome=self.outcome)
        data["tests"] = [dict(asdict(t), title=t.title) for t in self.tests]
        return data


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def read_verdict(item_id: str, report_path: Path, run_id: str, returncode: int | None, timed_out: bool,
                 timeout: float, duration: float, output_tail: str, file_hash: str | None,
                 expected: list[str] | None = None) -> Verdict:
    """The verdict of one run: its report (only lines carrying `run_id` count) and how the child ended.

    `expected` is the test ids a pass requires (from retreat.lock); None lets the collected tests decide.
    """
    events, oversized = read_events(report_path, run_id)
    collected = [e for e in events if e.get("event") == "collected"]
    tests = _outcomes(collected, events, expected)
    if oversized or any(e.get("event") == "overflow" for e in events):
        kind, problem = "report-too-large", (f"the test report grew past {REPORT_LIMIT // 1024} KB, more than any "
                                             "course's tests write: the run cannot be trusted")
    else:
        kind, problem = _run_problem(events, collected, returncode, timed_out, timeout, expected)
    all_passed = bool(tests) and all(t.outcome == "passed" for t in tests)
    if problem is None and returncode != 0 and all_passed:
        kind = "exited-early"
        problem = f"every test passed but the run exited with code {returncode}; the run cannot be trusted"
    ok = problem is None and all_passed and returncode == 0
    return Verdict(item_id, ok, tuple(tests), problem, kind, duration, file_hash, output_tail)


def read_events(report_path: Path, run_id: str) -> tuple[list[dict], bool]:
    """The report's lines that belong to this run, and whether the report is larger than REPORT_LIMIT
    (then no line counts). Unreadable lines and other runs' lines are ignored; a line at a time is
    read, so memory stays within the limit whatever the file holds."""
    events: list[dict] = []
    total = 0
    try:
        with open(report_path, "rb") as f:
            while line := f.readline(REPORT_LIMIT - total + 1):
                total += len(line)
                if total > REPORT_LIMIT:
                    return [], True
                try:
                    event = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(event, dict) and event.get("run_id") == run_id:
                    events.append(event)
    except OSError:
        pass
    return events, False


def _title(nodeid: str) -> str:
    return TestOutcome(nodeid, nodeid.rsplit("::", 1)[-1], "").title


def _outcomes(collected: list[dict], events: list[dict], expected: list[str] | None) -> list[TestOutcome]:
    """One outcome per expected test (or, without `expected`, per collected one), then any collected
    test the course does not expect; a test with no result was not run."""
    results: dict[str, dict] = {}
    for e in events:
        if e.get("event") == "result":
            prev = results.get(e.get("nodeid"))
            # The worst phase wins: a passing call followed by a failing teardown is a failure.
            if prev is None or prev.get("outcome") == "passed":
                results[e.get("nodeid")] = e
    names = {c.get("nodeid"): c.get("name") for c in collected}
    order = list(names) if expected is None else [*expected, *(n for n in names if n not in set(expected))]
    tests = []
    for nodeid in order:
        name = names.get(nodeid) or str(nodeid).rsplit("::", 1)[-1]
        r = results.get(nodeid)
        if r is None:
            tests.append(TestOutcome(nodeid, name, "not run"))
            continue
        outcome = r["outcome"]
        if outcome == "failed" and r.get("when") != "call":
            outcome = "error"
        tests.append(TestOutcome(nodeid, name, outcome, r.get("message", ""), r.get("kind", ""),
                                 r.get("facts"), float(r.get("duration", 0.0))))
    return tests


def _wrong_tests(collected: list[dict], expected: list[str]) -> str | None:
    """Why the collected tests are not the ones the course expects, in one line; None when they are."""
    got = [c.get("nodeid") for c in collected]
    missing = [e for e in expected if e not in set(got)]
    extra = [g for g in got if g not in set(expected)]

    def some(ids: list[str]) -> str:
        names = ", ".join(_title(i) for i in ids[:3])
        return names + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")

    if missing:
        return (f"the run collected {len(expected) - len(missing)} of the {len(expected)} tests the course expects "
                f"(not collected: {some(missing)}); a pass needs every one of them")
    if extra:
        return f"the run collected tests the course does not expect ({some(extra)}); a pass needs exactly its own"
    return None


def _run_problem(events: list[dict], collected: list[dict], returncode: int | None, timed_out: bool,
                 timeout: float, expected: list[str] | None = None) -> tuple[str | None, str | None]:
    """What went wrong with the run as a whole, as (kind, message); (None, None) when nothing did."""
    finished = [e for e in events if e.get("event") == "finished"]
    collect_errors = [e for e in events if e.get("event") == "collect_error"]
    if timed_out:
        return "timeout", (f"the tests did not finish within {timeout:g} s and were stopped: an infinite loop, "
                           "or code far slower than it needs to be?")
    if returncode is not None and returncode < 0:
        return "crashed", (f"the test process crashed ({_signal_name(returncode)}) before the tests finished"
                           + (": out of memory?" if returncode == -signal.SIGKILL else ""))
    if collect_errors:
        return "import-error", "could not load the exercise: " + collect_errors[0].get("message", "")
    if not finished:
        return "exited-early", (f"the test run ended early (exit code {returncode}) without finishing its "
                                "report: does the code call sys.exit() or os._exit()?")
    if not collected and returncode not in (0, 5):
        return "exited-early", (f"the test run stopped before any test ran (exit code {returncode}): "
                                "does the code call sys.exit() or os._exit() when imported?")
    if expected is not None and (wrong := _wrong_tests(collected, expected)):
        return "wrong-tests", wrong
    if not collected:
        return "no-tests", "no tests were collected for this exercise (a course problem: tell its author)"
    if finished[-1].get("collected") != len(collected):
        return "exited-early", "the report is incomplete; the run cannot be trusted"
    return None, None
