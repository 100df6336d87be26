"""`retreat dev check`: prove the course is sound. Structure first, then every stub fails,
every solution passes, every mutant fails, graded in parallel exactly as a learner is graded."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from retreat.course import Course
from retreat.dev import select_exercises
from retreat.dev.mutants import MutantError, apply_mutant, load_mutants
from retreat.errors import UsageProblem
from retreat.grading.runner import Job
from retreat.grading.service import run
from retreat.grading.verdict import Verdict
from retreat.markers import StubError, make_stub
from retreat.roadmap import Exercise

MIN_HINTS = 2
MIN_MUTANTS = 2


@dataclass
class ExerciseReport:
    id: str
    problems: list[str] = field(default_factory=list)
    runs: list[tuple[str, Verdict, bool]] = field(default_factory=list)
    """(what was graded, its verdict, whether that verdict is the expected one)."""

    @property
    def ok(self) -> bool:
        return not self.problems and all(expected for _, _, expected in self.runs)


def structure_problems(course: Course, ex: Exercise) -> list[str]:
    problems = []
    solution = course.solution_file(ex).read_text(encoding="utf-8")
    try:
        stub = make_stub(solution, ex.solution)
    except StubError as exc:
        return [str(exc)]
    learner = course.learner_file(ex)
    if not learner.is_file():
        problems.append(f"{ex.exercise} is missing ('retreat dev stubs' writes it)")
    elif learner.read_text(encoding="utf-8") != stub:
        problems.append(f"{ex.exercise} differs from the stub generated from {ex.solution} "
                        "('retreat dev stubs' rewrites it)")
    if "# TODO" not in stub:
        problems.append(f"{ex.exercise} has no '# TODO' marker")
    if len(ex.hints) < MIN_HINTS:
        problems.append(f"{ex.id} has {len(ex.hints)} hints; at least {MIN_HINTS} are expected")
    if not ex.notes:
        problems.append(f"{ex.id} has no notes page")
    if Path(ex.exercise).parts[1:] != Path(ex.solution).parts[1:]:
        problems.append(f"{ex.exercise} and {ex.solution} should have the same path under exercises/ and solutions/")
    rel = str(course.mutants_file(ex).relative_to(course.root))
    try:
        mutants = load_mutants(course.mutants_file(ex), rel)
        if len(mutants) < MIN_MUTANTS:
            problems.append(f"{rel} has {len(mutants)} mutants; at least {MIN_MUTANTS} are expected")
        texts = [apply_mutant(solution, m, rel) for m in mutants]
        if ex.forbid:
            from retreat.grading.forbid import scan_source

            if scan_source(solution, ex.forbid):
                problems.append(f"{ex.solution} itself uses a call that {ex.id} forbids")
            used = {v.name for t in texts for v in scan_source(t, ex.forbid)}
            for name in ex.forbid:
                if name not in used:
                    problems.append(f"forbidden {name}: no mutant uses it, so nothing proves the check catches it")
    except MutantError as exc:
        problems.append(str(exc))
    return problems


def stray_files(course: Course) -> list[str]:
    """Files under exercises/, solutions/ and the stage test folders that no item names."""
    known = {"tests/conftest.py"}
    dirs = {"exercises", "solutions"} | {f"tests/{s.dir}" for s in course.roadmap.stages}
    for ex in course.roadmap.exercises:
        known |= {ex.exercise, ex.solution, ex.tests, str(course.mutants_file(ex).relative_to(course.root))}
    strays = []
    for d in sorted(dirs):
        base = course.root / d
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(course.root).as_posix()
            if path.is_dir() or "__pycache__" in path.parts or path.name.endswith((".pyc", ".pyo")):
                continue
            if rel not in known:
                strays.append(rel)
    return strays


def check(course: Course, ids: list[str] | None = None, jobs: int | None = None,
          on_report: Callable[[ExerciseReport], None] | None = None) -> tuple[list[ExerciseReport], list[str]]:
    """Check the selected exercises; return their reports and course-wide problems."""
    exercises = select_exercises(course, ids)
    course_problems = [f"stray file: {s} (no roadmap item names it)" for s in stray_files(course)] if not ids else []
    reports = {ex.id: ExerciseReport(ex.id, structure_problems(course, ex)) for ex in exercises}
    workers = jobs or max(1, os.cpu_count() or 1)
    # Each run is a connection to the course's grading server, which forks per check: `workers` at once.
    with tempfile.TemporaryDirectory(prefix="retreat-mutants-") as tmp, ThreadPoolExecutor(workers) as pool:

        def submit(job: Job) -> Future[Verdict]:
            return pool.submit(run, course, job)

        futures = []
        for ex in exercises:
            if reports[ex.id].problems and not course.learner_file(ex).is_file():
                continue
            # A stub or a mutant only has to fail once: its run stops at the first failing test.
            stub_job = Job(ex, target="exercise", overrides={ex.id: str(course.learner_file(ex))}, fail_fast=True)
            futures.append((ex.id, "stub", False, submit(stub_job)))
            futures.append((ex.id, "solution", True, submit(Job(ex, target="solution"))))
            solution = course.solution_file(ex).read_text(encoding="utf-8")
            rel = str(course.mutants_file(ex).relative_to(course.root))
            try:
                mutants = load_mutants(course.mutants_file(ex), rel)
            except MutantError:
                mutants = []
            for m in mutants:
                try:
                    text = apply_mutant(solution, m, rel)
                except MutantError:
                    continue
                path = Path(tmp) / ex.id / f"{m.name}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                job = Job(ex, target="solution", overrides={ex.id: str(path)}, fail_fast=True)
                futures.append((ex.id, f"mutant {m.name}", False, submit(job)))
        by_id: dict[str, list] = {}
        for entry in futures:
            by_id.setdefault(entry[0], []).append(entry)
        for ex in exercises:
            report = reports[ex.id]
            for _, what, should_pass, fut in by_id.get(ex.id, []):
                verdict = fut.result()
                report.runs.append((what, verdict, verdict.ok == should_pass))
            if on_report:
                on_report(report)
    if ids is None and not exercises:
        raise UsageProblem("the roadmap has no exercises to check")
    return [reports[ex.id] for ex in exercises], course_problems


def lock_if_sound(course: Course, reports: list[ExerciseReport], course_problems: list[str],
                  ids: list[str] | None) -> tuple[Path, bool] | None:
    """After a whole-course check that found the course sound, write retreat.lock (retreat/grading/lock.py).

    Returns the lock's path and whether it changed, or None when nothing was locked.
    """
    if ids or course_problems or not reports or not all(r.ok for r in reports):
        return None
    from retreat.grading.lock import write_lock

    return write_lock(course)
