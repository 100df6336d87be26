"""Course-author commands: `retreat dev check`, `dev lock`, `dev stubs`, `dev schema` (the work is
in retreat/dev/, retreat/grading/lock.py and retreat/roadmap/schema.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from retreat.cli.common import cold_option, echo_json, json_option
from retreat.course import Course

if TYPE_CHECKING:
    from retreat.dev.check import ExerciseReport


@click.group("dev")
def dev() -> None:
    """Commands for course authors."""


@dev.command("check")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Parallel runs (default: CPU count).")
@json_option
@cold_option
def dev_check(ids: tuple[str, ...], jobs: int | None, as_json: bool) -> None:
    """Prove the course is sound: structure, stubs fail, solutions pass, mutants fail.

    Checks every exercise, or only the IDs given. Exits 1 if anything is wrong.
    """
    from retreat.cli.render import console, escape
    from retreat.dev import check as core

    course = Course.find(personal=False)
    _ = course.roadmap
    reports, course_problems = core.check(course, list(ids) or None, jobs,
                                          on_report=None if as_json else _show_report)
    ok = all(r.ok for r in reports) and not course_problems
    locked = core.lock_if_sound(course, reports, course_problems, list(ids) or None)
    if as_json:
        echo_json({"ok": ok, "problems": course_problems, "locked": str(locked[0]) if locked else None, "exercises": [
            {"id": r.id, "ok": r.ok, "problems": r.problems,
             "runs": [{"what": w, "expected": e, "outcome": v.outcome, "passed": v.passed, "total": v.total,
                       "problem": v.problem} for w, v, e in r.runs]} for r in reports]})
    else:
        for p in course_problems:
            console.print(f"[red]✗ {escape(p)}[/]")
        good = sum(r.ok for r in reports)
        console.print(f"[bold]{good}/{len(reports)} exercises sound[/]" + ("" if ok else "; see above"))
        if locked and locked[1]:
            console.print(f"wrote {locked[0].name}: grades made with these tests and solutions are official")
    sys.exit(0 if ok else 1)


def _show_report(report: ExerciseReport) -> None:
    """One exercise's line as soon as its runs are in, and what is wrong with it."""
    from retreat.cli.render import console, escape

    runs = report.runs
    stub = [v for w, v, _ in runs if w == "stub"]
    sol = [v for w, v, _ in runs if w == "solution"]
    muts = [(w, v, ok) for w, v, ok in runs if w.startswith("mutant")]
    parts = []
    if stub:
        parts.append(f"stub fails {stub[0].passed}/{stub[0].total}")
    if sol:
        parts.append(f"solution {sol[0].passed}/{sol[0].total}")
    if muts:
        parts.append(f"mutants caught {sum(ok for _, _, ok in muts)}/{len(muts)}")
    glyph = "[green]✓[/]" if report.ok else "[red]✗[/]"
    console.print(f"{glyph} {escape(report.id):28} {' · '.join(parts)}")
    for p in report.problems:
        console.print(f"    [red]{escape(p)}[/]")
    for what, v, expected in runs:
        if expected:
            continue
        if what == "solution":
            reason = v.problem or "; ".join(f"{t.title}: {t.message.splitlines()[0] if t.message else t.outcome}"
                                            for t in v.tests if t.outcome != "passed")
            console.print(f"    [red]solution fails: {escape(reason)}[/]")
        else:
            console.print(f"    [red]{escape(what)} passes every test: the tests do not catch it[/]")


@dev.command("lock")
@click.option("--check", is_flag=True, help="Exit 1 if retreat.lock does not match the course instead of writing it.")
def dev_lock(check: bool) -> None:
    """Write retreat.lock: the sha256 of every test, solution, mutants and roadmap file.

    'retreat check' marks a grade unofficial when a locked file has changed since. A whole-course
    'retreat dev check' that finds the course sound refreshes the lock too.
    """
    from retreat.grading.lock import LOCK_FILE, stale_entries, write_lock

    course = Course.find(personal=False)
    _ = course.roadmap
    if check:
        stale = stale_entries(course)
        if stale:
            raise click.ClickException(f"{LOCK_FILE} is out of date ({stale[0]}"
                                       + (f", and {len(stale) - 1} more" if len(stale) > 1 else "")
                                       + "): run 'retreat dev lock'")
        click.echo(f"{LOCK_FILE} up to date")
        return
    path, changed = write_lock(course)
    click.echo(f"wrote {path.name}" if changed else f"{path.name} already up to date")


@dev.command("stubs")
@click.argument("ids", nargs=-1, metavar="[ID]...")
def dev_stubs(ids: tuple[str, ...]) -> None:
    """Write each exercise's stub from its solution (### TODO ... ### END blocks)."""
    from retreat.dev.stubs import write_stubs

    changed = write_stubs(Course.find(personal=False), list(ids) or None)
    for rel in changed:
        click.echo(f"wrote {rel}")
    click.echo(f"{len(changed)} stub(s) changed.")


@dev.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 if the shipped schema is out of date instead of writing it.")
def dev_schema(check: bool) -> None:
    """Write the roadmap's JSON Schema (retreat/schema/roadmap.schema.json) from its types."""
    from retreat.roadmap.schema import SCHEMA_PATH, schema_is_current, write_schema

    if check:
        if not schema_is_current():
            raise click.ClickException("the shipped JSON Schema is out of date: run 'retreat dev schema'")
        click.echo("schema up to date")
        return
    write_schema()
    click.echo(f"wrote {SCHEMA_PATH}")
