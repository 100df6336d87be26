"""Read the child's structured report into a verdict. Only a complete, matching report can pass."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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
                 timeout: float, duration: float, output_tail: str, file_hash: str | None) -> Verdict:
    """The verdict of one run: its report (only lines carrying `run_id` count) and how the child ended."""
    events = _read_events(report_path, run_id)
    collected = [e for e in events if e.get("event") == "collected"]
    tests = _outcomes(collected, events)
    kind, problem = _run_problem(events, collected, returncode, timed_out, timeout)
    all_passed = bool(tests) and all(t.outcome == "passed" for t in tests)
    if problem is None and returncode != 0 and all_passed:
        kind = "exited-early"
        problem = f"every test passed but the run exited with code {returncode}; the run cannot be trusted"
    ok = problem is None and all_passed and returncode == 0
    return Verdict(item_id, ok, tuple(tests), problem, kind, duration, file_hash, output_tail)


def _read_events(report_path: Path, run_id: str) -> list[dict]:
    """The report's lines that belong to this run; unreadable lines and other runs' lines are ignored."""
    events: list[dict] = []
    try:
        for line in report_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and event.get("run_id") == run_id:
                events.append(event)
    except OSError:
        pass
    return events


def _outcomes(collected: list[dict], events: list[dict]) -> list[TestOutcome]:
    """One outcome per collected test; a test with no result was not run."""
    results: dict[str, dict] = {}
    for e in events:
        if e.get("event") == "result":
            prev = results.get(e["nodeid"])
            # The worst phase wins: a passing call followed by a failing teardown is a failure.
            if prev is None or prev.get("outcome") == "passed":
                results[e["nodeid"]] = e
    tests = []
    for c in collected:
        r = results.get(c["nodeid"])
        if r is None:
            tests.append(TestOutcome(c["nodeid"], c["name"], "not run"))
            continue
        outcome = r["outcome"]
        if outcome == "failed" and r.get("when") != "call":
            outcome = "error"
        tests.append(TestOutcome(c["nodeid"], c["name"], outcome, r.get("message", ""), r.get("kind", ""),
                                 r.get("facts"), float(r.get("duration", 0.0))))
    return tests


def _run_problem(events: list[dict], collected: list[dict], returncode: int | None, timed_out: bool,
                 timeout: float) -> tuple[str | None, str | None]:
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
    if not collected:
        return "no-tests", "no tests were collected for this exercise (a course problem: tell its author)"
    if finished[-1].get("collected") != len(collected):
        return "exited-early", "the report is incomplete; the run cannot be trusted"
    return None, None
