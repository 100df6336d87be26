"""A quiz's page: the questions and their choices, never the answers nor the explanations.

The answers stay in the terminal (`retreat quiz ID` shows each one after it is answered), so a
reader of the site can try the questions first. Called from `Site.item_page`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retreat.learner.quiz import LETTERS, QuizResult
from retreat.roadmap import Question, Quiz, Stage
from retreat.site.markup import ROADMAP_PAGE, cell, indent, item_page, minutes_text, rel, stage_page

if TYPE_CHECKING:
    from retreat.site.pages import Site


def quiz_page(site: Site, stage: Stage, quiz: Quiz) -> str:
    src = item_page(stage, quiz)
    n = stage.items.index(quiz) + 1
    need = QuizResult(quiz, ()).needed
    facts = [f":material-map-marker-path: [{cell(stage.title)}]({rel(src, stage_page(stage))}), "
             f"quiz {n} of {len(stage.items)}",
             f":material-clock-outline: {minutes_text(quiz.minutes)}",
             f":material-star-outline: {quiz.points} points",
             f":material-help-circle-outline: {len(quiz.questions)} questions, pass with {need} right"]
    if quiz.day:
        facts.append(f":material-calendar-today: [day {quiz.day}]({rel(src, ROADMAP_PAGE)}#plan)")
    if quiz.optional:
        facts.append(":material-flag-outline: optional")
    out = [f"# {quiz.title}", "", '<div class="rt-facts" markdown>', " · ".join(facts), "</div>", ""]
    if quiz.summary:
        out += [quiz.summary, ""]
    out += ['!!! abstract "Take it in the terminal"', "",
            f"    `retreat quiz {quiz.id}` asks these questions one at a time, says right or wrong and "
            "explains each answer. This page keeps the answers back, so you can think first.", ""]
    out += ["    " + line for line in site._relations(src, quiz)]
    notes = site.notes_page(quiz)
    if notes:
        out.append(f"    - :material-notebook-outline: **Notes** [the notes this quiz is about]({rel(src, notes)})")
    out.append("")
    for k, q in enumerate(quiz.questions, 1):
        out += [f"## Question {k}", "", q.prompt.strip(), ""] + _answer_form(q) + [""]
    out += ["## Answer", "", "```bash", f"retreat quiz {quiz.id}",
            f'retreat quiz {quiz.id} --answers "{_example(quiz)}"   # all at once, one per question', "```", ""]
    return "\n".join(out) + "\n"


def _answer_form(q: Question) -> list[str]:
    if q.kind == "number":
        return ["*Answer with a number.*"]
    how = "Pick every right choice." if q.kind == "multiple" else "Pick one."
    icon = ":material-checkbox-blank-outline:" if q.kind == "multiple" else ":material-radiobox-blank:"
    out = [f"*{how}*", ""]
    for i, choice in enumerate(q.choices):
        out.append(f"- {icon} **{LETTERS[i]})** " + indent(choice.strip(), "  ").lstrip())
    return out


def _example(quiz: Quiz) -> str:
    """The shape of an --answers string (not the answers): letters for choices, a number for a number."""
    return ",".join({"single": "a", "multiple": "ab", "number": "0"}[q.kind] for q in quiz.questions)
