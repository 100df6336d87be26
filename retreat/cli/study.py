"""Quizzes and spaced review: `retreat quiz ID` and `retreat review [ID]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from retreat import clock
from retreat.cli import render
from retreat.cli.common import cold_option, complete_ids, device_option, item_argument, load, require_device
from retreat.course import Course
from retreat.errors import RetreatError, UsageProblem
from retreat.learner.progress import Progress
from retreat.roadmap import Exercise, Question, Quiz

if TYPE_CHECKING:
    from retreat.learner.quiz import Answer, QuizResult
    from retreat.learner.review import Review

escape = render.escape


def _ask(q: Question, n: int, total: int) -> Answer:
    from retreat.learner.quiz import BadAnswer, how_to_answer, parse_answer

    _show_question(q, n, total)

    def read(text: str) -> Answer:
        try:
            return parse_answer(q, text)
        except BadAnswer as exc:
            raise click.BadParameter(str(exc)) from None

    try:
        return click.prompt(f"  Your answer ({how_to_answer(q)})", value_proc=read, prompt_suffix=": ")
    except click.Abort:  # end of input or Ctrl-C: nothing is recorded
        raise RetreatError("quiz abandoned; nothing was recorded") from None


def _show_question(q: Question, n: int, total: int) -> None:
    from retreat.learner.quiz import letter

    render.console.print(f"\n[bold]Question {n}/{total}[/]" + (" [dim](pick every right one)[/]"
                                                               if q.kind == "multiple" else ""))
    for line in q.prompt.strip().splitlines():
        render.console.print(f"  {escape(line)}")
    for i, choice in enumerate(q.choices):
        render.console.print(f"    [bold]{letter(i)})[/] {escape(choice)}")


def _feedback(q: Question, right: bool) -> None:
    from retreat.learner.quiz import answer_text

    if right:
        render.console.print("  [green]✓ right[/]")
    else:
        render.console.print(f"  [red]✗ not quite[/]: the answer is {escape(answer_text(q))}")
    for line in q.explanation.strip().splitlines():
        render.console.print(f"  [dim]{escape(line)}[/]")


def take_quiz(progress: Progress, quiz: Quiz, answers: str | None) -> QuizResult:
    """Ask every question (or read them from `answers`), say right or wrong with the explanation,
    and record the attempt."""
    from retreat.learner.quiz import BadAnswer, QuizResult, is_right, parse_answer, record, split_answers

    started = clock.now()
    given = None
    if answers is not None:
        try:
            texts = split_answers(quiz, answers)
            given = [parse_answer(q, t) for q, t in zip(quiz.questions, texts, strict=True)]
        except BadAnswer as exc:
            raise UsageProblem(f"--answers: {exc}") from None
    render.console.print(f"[bold]{escape(quiz.id)}[/] · {escape(quiz.title)}  "
                         f"[dim]({len(quiz.questions)} questions)[/]")
    right = []
    for n, q in enumerate(quiz.questions, 1):
        if given is None:
            answer = _ask(q, n, len(quiz.questions))
        else:
            _show_question(q, n, len(quiz.questions))
            answer = given[n - 1]
            render.console.print(f"  Your answer: {escape(_typed(q, answer))}")
        ok = is_right(q, answer)
        right.append(ok)
        _feedback(q, ok)
    result = QuizResult(quiz, tuple(right))
    record(progress, result, started=started, duration=max(0.0, clock.now() - started))
    summary = f"{result.score}/{len(right)} right (pass mark {result.needed})"
    if result.passed:
        render.console.print(f"\n[bold green]✓ {escape(quiz.id)} passed[/]: {summary}. Next: [bold]retreat next[/]")
    else:
        render.console.print(f"\n[bold red]✗ not yet[/]: {summary}. Read again and retry: "
                             f"[bold]retreat quiz {escape(quiz.id)}[/]")
    return result


def _typed(q: Question, answer: Answer) -> str:
    from retreat.learner.quiz import letter

    if q.kind == "number":
        return f"{answer:g}"
    return "".join(letter(i) for i in (answer if isinstance(answer, tuple) else (answer,)))


@click.command("quiz")
@item_argument
@click.option("--answers", metavar="TEXT", help='Answer without questions asked, e.g. "b,ac,0.125" '
              "(one per question: letters for choices, a number for a number).")
def quiz_cmd(item_id: str, answers: str | None) -> None:
    """Take a quiz: answer in the terminal, see why, and pass it.

    Exits 0 when the quiz is passed.

    \b
    Examples:
      retreat quiz attention-quiz
      retreat quiz attention-quiz --answers "b,ac,8"
    """
    course, progress = load()
    item = course.roadmap.get(item_id)
    if not isinstance(item, Quiz):
        how = f"retreat check {item_id}" if isinstance(item, Exercise) else f"retreat done {item_id}"
        raise UsageProblem(f"{item_id} is a {item.kind}, not a quiz ('{how}')")
    if not take_quiz(progress, item, answers).passed:
        sys.exit(1)


@click.command("review")
@click.argument("item_id", metavar="[ID]", required=False, shell_complete=complete_ids)
@click.option("--fresh", is_flag=True, help="Start the scratch file again from the stub.")
@click.option("--answers", metavar="TEXT", help="For a quiz: the answers, as for 'retreat quiz'.")
@device_option
@cold_option
def review_cmd(item_id: str | None, fresh: bool, answers: str | None, device: str | None) -> None:
    """Review a passed item that is due (or the one named): write the exercise again from a fresh
    stub, or retake the quiz. Passed reviews come back after 1, 3, 7, then 21 days.

    \b
    Examples:
      retreat review                 the review due first (says so when none is due)
      retreat review softmax         write softmax again in a scratch file, then run it again to grade
    """
    from retreat.learner import review

    course, progress = load()
    require_device(device)
    at = clock.now()
    r = _review_to_take(course, progress, item_id, at)
    if r is None:
        return
    if isinstance(r.item, Quiz):
        result = take_quiz(progress, r.item, answers)
        _next_review(review.record(progress, r, result.passed, at), at)
        if not result.passed:
            sys.exit(1)
        return
    ex = r.item
    path, is_stub = review.prepare(course, ex, fresh)
    shown = _shown(path)
    if is_stub:
        render.console.print(f"[bold]Review {escape(ex.id)}[/] · {escape(ex.title)}\n"
                             f"  Write it again, from memory: [bold]{escape(shown)}[/] (a fresh stub; "
                             f"your own {escape(ex.exercise)} is untouched)\n"
                             f"  Then:    [bold]retreat review {escape(ex.id)}[/] grades it with the same tests")
        return
    from retreat.grading.service import grade_review

    verdict, new = grade_review(course, progress, r, device=device,
                                show=lambda v: render.verdict(course, v, f"{ex.title} (review)"))
    _next_review(new, at)
    if not verdict.ok:
        sys.exit(1)


def _review_to_take(course: Course, progress: Progress, item_id: str | None, at: float) -> Review | None:
    """The review named, or the one due first; None (after saying so) when nothing is due."""
    from retreat.learner import review

    if item_id is not None:
        return review.find(course, progress, item_id)
    due = review.due(course, progress, at)
    if due:
        return due[0]
    upcoming = review.reviews(course, progress)
    later = (f" Next: {upcoming[0].item.id}, {clock.day_text(upcoming[0].due, at)}."
             if upcoming else " Items come up for review once passed.")
    render.console.print(f"Nothing is due for review.{escape(later)}")
    return None


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _next_review(new: Review, at: float) -> None:
    when = clock.day_text(new.due, at)
    if new.last_ok:
        render.console.print(f"[green]Review passed[/]: {escape(new.item.id)} comes back {when} "
                             f"(an interval of {new.interval} days).")
    else:
        render.console.print(f"[yellow]Review not passed[/]: {escape(new.item.id)} comes back {when}; "
                             "its interval starts again at one day.")


COMMANDS = (quiz_cmd, review_cmd)
