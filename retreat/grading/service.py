"""Grade for the learner and record the result: the one path `retreat check`, `retreat watch` and
`retreat review` take (and `run`, the one way any command grades: `retreat dev check` too). A
command parses its arguments, calls one function here, and renders the verdict; a new grading
rule belongs in the runner (runner.py) or the verdict (verdict.py), so every command applies it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import retreat.env as env
from retreat.course import Course
from retreat.errors import RetreatError, UsageProblem
from retreat.grading.lock import unofficial_reason
from retreat.grading.runner import Job, run_job
from retreat.grading.verdict import Verdict
from retreat.learner import review as reviews
from retreat.learner.progress import Progress
from retreat.roadmap import Exercise


def targets(course: Course, item_id: str | None, check_all: bool, stage_id: str | None) -> list[str] | None:
    """The exercises one `retreat check` grades: an id, every exercise, or every exercise of a stage;
    None when none of them is given (the caller grades the current exercise)."""
    if sum((item_id is not None, check_all, stage_id is not None)) > 1:
        raise UsageProblem("give an ID, --all or --stage, not more than one")
    if check_all:
        return [e.id for e in course.roadmap.exercises]
    if stage_id is not None:
        stages = {s.id: s for s in course.roadmap.stages}
        if stage_id not in stages:
            raise UsageProblem(f"no stage {stage_id!r} in this course (the stages are {', '.join(stages)})")
        return [i.id for i in stages[stage_id].items if isinstance(i, Exercise)]
    if item_id is not None:
        return [course.exercise(item_id).id]
    return None


def grade(course: Course, progress: Progress, item_id: str, device: str | None = None,
          keep_going: bool = False, show: Callable[[Verdict], None] | None = None) -> Verdict:
    """Grade the learner's file of an exercise, say whether the grade is official (lock.py),
    `show` the verdict, then record the attempt (`retreat check`, `retreat watch`).

    The verdict is shown before it is recorded: a database that is busy, full or read-only delays
    or defers the record (learner/progress.py keeps it for later), never the learner's answer.
    A missing learner file is an error, or with `keep_going` (grading many, or watching) a failing
    verdict that is not recorded.
    """
    ex = course.exercise(item_id)
    started = time.time()
    if not course.learner_file(ex).is_file():
        problem = f"{ex.exercise} is missing; 'retreat reset {ex.id}' restores the stub"
        if not keep_going:
            raise RetreatError(problem)
        missing = Verdict(ex.id, False, (), problem=problem, problem_kind="missing")
        if show is not None:
            show(missing)
        return missing
    verdict = _grade(course, Job(ex, extra_env=_device_env(device)))
    if show is not None:
        show(verdict)
    progress.record_attempt(ex.id, started=started, duration=verdict.duration, passed=verdict.passed,
                            total=verdict.total, ok=verdict.ok, file_hash=verdict.file_hash,
                            outcome=verdict.outcome, unofficial=verdict.unofficial)
    return verdict


def grade_review(course: Course, progress: Progress, review: reviews.Review, device: str | None = None,
                 show: Callable[[Verdict], None] | None = None) -> tuple[Verdict, reviews.Review]:
    """Grade an exercise written again in its review scratch file (learner/review.py) with the
    exercise's own tests, `show` the verdict, and record the review; a passed review removes the
    scratch file, so the next review starts from a fresh stub again."""
    ex = review.item
    assert isinstance(ex, Exercise)
    path = reviews.scratch_file(course, ex)
    verdict = _grade(course, Job(ex, overrides={ex.id: str(path)}, extra_env=_device_env(device)))
    if show is not None:
        show(verdict)
    new = reviews.record(progress, review, verdict.ok)
    if verdict.ok:
        path.unlink(missing_ok=True)
    return verdict, new


def _grade(course: Course, job: Job) -> Verdict:
    """Run a job and mark its verdict unofficial when a locked course file changed."""
    unreadable = _unreadable(course, job)
    if unreadable is not None:
        return unreadable
    unofficial = unofficial_reason(course, job.exercise.id)
    return replace(run(course, job), unofficial=unofficial)


def run(course: Course, job: Job) -> Verdict:
    """Run a job on the course's grading server (server.py: torch and pytest already imported, a
    fork per check), or in a cold child when $RETREAT_COLD (--cold) says so or the server cannot
    take it: one line on stderr says why, and the check itself is not affected. Every command
    that grades (check, watch, review, dev check) comes through here."""
    if cold():
        return run_job(course, job)
    from retreat.grading.client import ServerUnavailable, client_for

    try:
        warm = client_for(course.root, course.state_dir)
        return run_job(course, job, worker=warm)
    except ServerUnavailable as exc:
        _notice_once(str(exc))
        return run_job(course, job)


def cold() -> bool:
    """True when checks must not use the grading server ($RETREAT_COLD set to anything but 0)."""
    return (env.get(env.COLD) or "0") != "0"


_noticed: set[str] = set()


def _notice_once(text: str) -> None:
    """Say why a check ran cold, once per reason and process (dev check runs hundreds)."""
    if text not in _noticed:
        _noticed.add(text)
        from retreat.grading.client import notice

        notice(text)


def _unreadable(course: Course, job: Job) -> Verdict | None:
    """A file Python cannot read as source (a NUL byte, bytes its encoding does not allow) fails in
    one line naming the file and the line, before any test runs."""
    from retreat.grading.runner import file_hash, graded_file
    from retreat.source import SourceError, read_source

    path = graded_file(course, job)
    try:
        rel = path.relative_to(course.root).as_posix()
    except ValueError:
        rel = str(path)
    try:
        read_source(path, rel)
    except OSError:
        return None  # the run says what is missing
    except SourceError as exc:
        return Verdict(job.exercise.id, False, (), problem=str(exc), problem_kind="unreadable",
                       file_hash=file_hash(path))
    return None


def _device_env(device: str | None) -> dict[str, str]:
    return {env.DEVICE: device} if device else {}
