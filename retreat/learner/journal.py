"""The learner's journal: one Markdown note per item, `journal/<item id>.md` in the course (or under
$RETREAT_JOURNAL), started from a short template. The folder is the learner's: course updates never
write to it, and it is not ignored by git, so it can be kept in the learner's own repository.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from retreat.course import Course
from retreat.errors import RetreatError
from retreat.roadmap import Exercise, Item, Reading


def note_path(course: Course, item_id: str) -> Path:
    return course.journal_dir / f"{item_id}.md"


def noted(course: Course) -> set[str]:
    """Ids of the items that have a note (one directory listing; no file is read)."""
    try:
        return {p.stem for p in course.journal_dir.glob("*.md") if p.is_file()}
    except OSError:
        return set()


def display(course: Course, path: Path) -> str:
    """A note's path as the learner types it: relative to the course root when inside it."""
    try:
        return path.relative_to(course.root).as_posix()
    except ValueError:
        return str(path)


def start_note(course: Course, item_id: str) -> tuple[Path, bool]:
    """The item's note, written from the template if it does not exist yet; (path, created)."""
    item = course.roadmap.get(item_id)
    path = note_path(course, item.id)
    if path.is_file():
        return path, False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("x", encoding="utf-8")  # never overwrite a note written meanwhile
    except FileExistsError:
        if path.is_file():
            return path, False
        raise RetreatError(f"cannot start the note {display(course, path)}: {path.parent} is not a folder") from None
    except OSError as exc:
        raise RetreatError(f"cannot start the note {display(course, path)} ({exc.strerror or exc})") from None
    try:
        with f:
            f.write(template(course, item))
    except OSError as exc:
        path.unlink(missing_ok=True)  # ours, and only half written
        raise RetreatError(f"cannot write the note {display(course, path)} ({exc.strerror or exc})") from None
    return path, True


def template(course: Course, item: Item) -> str:
    """A new note: the item's title, its links, and the questions worth answering."""
    stage = course.roadmap.stage_of(item.id)
    out = [f"# {item.title}", "",
           f"*My notes on `{item.id}`, {item.kind} in {stage.title}. Started {time.strftime('%Y-%m-%d')}.*", ""]
    if item.summary:
        out += [f"> {item.summary}", ""]
    out += ["## Links", ""]
    links = []
    if isinstance(item, Exercise):
        links.append(f"- My file: `{item.exercise}` (graded by `retreat check {item.id}`)")
    if isinstance(item, Reading):
        if item.url:
            links.append(f"- <{item.url}>")
        if item.book:
            links.append(f"- {item.book}")
    if item.notes:
        links.append(f"- Course notes: `docs/{item.notes}` (or `retreat docs serve`)")
    for res in item.resources if isinstance(item, Exercise) else ():
        where = f" <{res.url}>" if res.url else ""
        note = f" ({res.note})" if res.note else ""
        links.append(f"- {res.title}{note}{where}")
    out += links or ["- (none yet)"]
    out += ["", "## Questions worth answering", ""]
    out += [f"- {q}" for q in questions(item)]
    out += ["", "## Notes", "", ""]
    return "\n".join(out)


def questions(item: Item) -> list[str]:
    name = f"*{item.title}*"
    if isinstance(item, Exercise):
        return [f"What problem does {name} solve? What would go wrong without it?",
                "What does it cost (time, memory, complexity), and when is it worth paying?",
                "Which shapes go in and come out, and where could they go wrong?",
                "What did I get wrong at first, and which check caught it?",
                "How would I explain it to a colleague in three sentences?"]
    return [f"What question does {name} answer? The key idea, in my own words:",
            "What does it cost, or leave out?",
            "What do I want to try, build or read next because of it?"]


def editor() -> str | None:
    """The learner's editor command ($VISUAL, then $EDITOR), or None."""
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or None


def open_in_editor(path: Path, command: str) -> None:
    try:
        import subprocess  # only when an editor is opened: `retreat next` and `list` load this module

        subprocess.run([*shlex.split(command), str(path)], check=False)
    except OSError as exc:
        raise RetreatError(f"could not start the editor {command!r} ({exc.strerror or exc}); "
                           f"the note is {path}") from None
