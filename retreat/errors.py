"""Exceptions a learner or course author can cause; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class RetreatError(Exception):
    """A problem the user can fix; shown as one line, exit code 1."""

    exit_code = 1


class UsageProblem(RetreatError):
    """A mistake in how retreat was called or in the course files; exit code 2."""

    exit_code = 2


class CourseNotFound(UsageProblem):
    pass


class RoadmapError(UsageProblem):
    """An error in roadmap.yaml (or a file it includes), located by file, line and field."""

    def __init__(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        where = f"{file}:{line}" if line else file
        what = f" {field}:" if field else ""
        super().__init__(f"{where}:{what} {message}")


def did_you_mean(name: str, known: list[str]) -> list[str]:
    """Up to three of `known` that `name` was probably meant to be, closest first."""
    import difflib  # only when a name is unknown

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    return close or [k for k in known if name in k or k in name][:3]


class UnknownItem(UsageProblem):
    def __init__(self, item_id: str, known: list[str]) -> None:
        close = did_you_mean(item_id, known)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"no item with id {item_id!r} in this course.{hint} ('retreat list' shows all)")
        self.item_id = item_id
        self.suggestions = close
