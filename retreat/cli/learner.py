"""The learner's commands: next, list, check, hint, solution, reset, done, skip."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from retreat.cli import render
from retreat.cli.common import (
    cold_option,
    device_option,
    echo_json,
    item_argument,
    json_option,
    load,
    optional_item_argument,
    require_device,
)
from retreat.course import Course
from retreat.errors import RetreatError
from retreat.learner import plan
from retreat.learner.progress import Progress


@click.command("next")
@json_option
def next_cmd(as_json: bool) -> None:
    """Say what to do now: the next unlocked item, where it is and how to check it."""
    from retreat.learner.review import due

    course, progress = load()
    view = plan.next_item(course.roadmap, progress.states())
    if as_json:
        echo_json(_item_json(view, course) if view else None)
    else:
        render.reviews_due(due(course, progress))  # a due review first, in one line
        render.next_item(course, view)


def _item_json(view: plan.ItemView, course: Course, notes: set[str] | None = None) -> dict:
    from retreat.learner.journal import noted

    item = view.item
    data = {"id": item.id, "kind": item.kind, "title": item.title, "stage": view.stage.id,
            "summary": item.summary, "minutes": item.minutes, "points": item.points,
            "status": view.state.status, "locked_by": list(view.locked_by), "optional": item.optional,
            "note": item.id in (noted(course) if notes is None else notes),
            "yours": item.id in course.roadmap.added}
    for key in ("exercise", "notes", "url", "book"):
        if getattr(item, key, None):
            data[key] = getattr(item, key)
    return data


@click.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Show the roadmap: stages with progress bars, points, what is locked and why."""
    from retreat.learner.review import due

    course, progress = load()
    states = progress.states()
    views = plan.views(course.roadmap, states)
    due_ids = [r.item.id for r in due(course, progress)]
    summaries = plan.stage_summaries(course.roadmap, states)
    nxt = plan.next_item(course.roadmap, states)
    if as_json:
        from retreat.learner.journal import noted

        notes = noted(course)
        echo_json({
            "course": course.roadmap.course.id,
            "next": nxt.item.id if nxt else None,
            "reviews_due": due_ids,
            "stages": [{"id": s.stage.id, "title": s.stage.title, "complete": s.complete, "total": s.total,
                        "points": s.points, "max_points": s.max_points} for s in summaries],
            "items": [dict(_item_json(v, course, notes), attempts=v.state.attempts, hints_shown=v.state.hints_shown)
                      for v in views],
        })
    else:
        render.roadmap_list(course, views, summaries, nxt, frozenset(due_ids))


@click.command("check")
@optional_item_argument
@click.option("--all", "check_all", is_flag=True, help="Grade every exercise, not just one.")
@click.option("--stage", "stage_id", metavar="STAGE", help="Grade every exercise of one stage (a CI job per stage).")
@click.option("--junit", "junit_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the verdicts to FILE as JUnit XML, for CI.")
@device_option
@cold_option
@json_option
def check_cmd(item_id: str | None, check_all: bool, stage_id: str | None, junit_file: Path | None,
              device: str | None, as_json: bool) -> None:
    """Grade an exercise (by default the current one) and record the attempt.

    Exits 0 only when every check passed.

    \b
    Examples:
      retreat check                  the current exercise
      retreat check causal-attention
      retreat check --all --json
      retreat check --stage foundations --junit results.xml
    """
    from retreat.grading.service import grade, targets

    course, progress = load()
    ids = targets(course, item_id, check_all, stage_id)
    if ids is None:
        ids = [_default(course, progress)]
    many = check_all or stage_id is not None
    require_device(device)
    verdicts = []
    for tid in ids:
        show = None if as_json else (lambda v, tid=tid: render.verdict(course, v, course.roadmap.get(tid).title))
        v = grade(course, progress, tid, device=device, keep_going=many, show=show)
        verdicts.append(v)
        if many and not as_json:
            render.console.print()
    if junit_file is not None:
        from retreat.grading.junit import write_junit

        write_junit(junit_file, [(course.exercise(v.item_id), v) for v in verdicts], course.roadmap.course.id)
    if as_json:
        data = [v.to_json() for v in verdicts]
        echo_json(data if many else data[0])
    elif many:
        ok = sum(v.ok for v in verdicts)
        render.console.print(f"[bold]{ok}/{len(verdicts)} exercises pass.[/]")
    if not all(v.ok for v in verdicts):
        sys.exit(1)


def _default(course: Course, progress: Progress) -> str:
    from retreat.learner.session import default_exercise

    return default_exercise(course, progress).id


@click.command("hint")
@optional_item_argument
def hint_cmd(item_id: str | None) -> None:
    """Show the next hint for an exercise (by default the current one), one more each time."""
    from retreat.learner.session import available_hints, reveal_hint

    course, progress = load()
    item_id = item_id or _default(course, progress)
    hints, last = reveal_hint(course, progress, item_id)
    total = len(available_hints(course, item_id))  # withheld hints are not counted
    for n, text in enumerate(hints, 1):
        render.console.print(f"[bold]Hint {n}/{total}[/] "
                             f"{render.escape(text)}")
    if last:
        render.console.print(f"[dim]That was the last hint. 'retreat solution {item_id} --force' "
                             "shows the reference.[/]")


@click.command("solution")
@item_argument
@click.option("--force", is_flag=True, help="Show it even though the exercise is not passed yet.")
def solution_cmd(item_id: str, force: bool) -> None:
    """Show the reference solution of an exercise, once you have passed it."""
    from retreat.learner.session import solution_text

    course, progress = load()
    click.echo(solution_text(course, progress, item_id, force), nl=False)


@click.command("reset")
@item_argument
def reset_cmd(item_id: str) -> None:
    """Restore an exercise's pristine stub; your version is kept in .retreat/backups/."""
    from retreat.learner.session import reset_exercise

    course, _ = load()
    backup = reset_exercise(course, item_id)
    ex = course.exercise(item_id)
    if backup is None:
        click.echo(f"{ex.exercise} is the pristine stub.")
    else:
        click.echo(f"{ex.exercise} is the pristine stub again; your version is in {backup}")


@click.command("done")
@item_argument
@click.option("--undo", is_flag=True, help="Mark it not done.")
def done_cmd(item_id: str, undo: bool) -> None:
    """Mark a reading as done."""
    _mark(item_id, None if undo else "done")


@click.command("skip")
@item_argument
@click.option("--undo", is_flag=True, help="Take the skip back.")
def skip_cmd(item_id: str, undo: bool) -> None:
    """Skip an item: it no longer blocks the items after it."""
    _mark(item_id, None if undo else "skipped")


def _mark(item_id: str, status: str | None) -> None:
    from retreat.learner.session import mark

    course, progress = load()
    current = progress.state(item_id).status
    course.roadmap.get(item_id)
    if current == "passed" and status is not None:
        raise RetreatError(f"{item_id} is already passed")
    mark(course, progress, item_id, status)
    click.echo(f"{item_id}: {status or 'not done'}. 'retreat next' says what comes next.")


@click.command("report")
@click.option("--summary", "summary_file", required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A results file written by 'retreat check --json'.")
@click.option("--title", default="retreat", show_default=True, help="The summary's heading.")
def report_cmd(summary_file: Path, title: str) -> None:
    """Print the verdicts of 'retreat check --json' as Markdown, for a CI job summary.

    \b
    Example (GitHub Actions):
      retreat check --stage foundations --json > results.json || true
      retreat report --summary results.json >> "$GITHUB_STEP_SUMMARY"
    """
    from retreat.grading.report import load_results, summary_markdown

    verdicts, problem = load_results(summary_file)
    click.echo(summary_markdown(verdicts, problem, title), nl=False)


COMMANDS = (next_cmd, list_cmd, check_cmd, hint_cmd, solution_cmd, reset_cmd, done_cmd, skip_cmd, report_cmd)
