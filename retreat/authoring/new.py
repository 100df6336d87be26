"""`retreat new DIR`: write a small, working course from the templates shipped in the package
(retreat/templates/), so `retreat next`, `check`, `dev check` and `docs build` work at once."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from retreat.errors import UsageProblem
from retreat.markers import make_stub

SOLUTION = "solutions/1_basics/01_word_count.py"

# template name -> where it goes in the course; None: only with an exercise
_FILES: list[tuple[str, str, bool]] = [
    ("roadmap.yaml", "roadmap.yaml", False),
    ("mkdocs.yml", "mkdocs.yml", False),
    ("site_hooks.py", "site_hooks.py", False),
    ("index.md", "docs/index.md", False),
    ("pyproject.toml", "pyproject.toml", False),
    ("requirements.txt", "requirements.txt", False),
    ("gitignore", ".gitignore", False),
    ("solution.py", SOLUTION, True),
    ("mutants.yaml", "solutions/1_basics/01_word_count.mutants.yaml", True),
    ("test.py", "tests/1_basics/test_word_count.py", True),
    ("notes.md", "docs/notes/basics/word-count.md", True),
]


def template(name: str) -> str:
    return resources.files("retreat").joinpath("templates", name).read_text(encoding="utf-8")


def slug(text: str) -> str:
    """kebab-case: lower-case words of letters and digits joined by '-'."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def new_course(target: Path, title: str | None = None, readings_only: bool = False) -> list[str]:
    """Write the course into `target` (missing or empty); return the files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageProblem(f"{target} is not empty: retreat new writes into a new or empty folder")
    title = title or target.resolve().name.replace("-", " ").replace("_", " ").capitalize() or "My course"
    values = {"title": title, "course_id": slug(title) or "course",
              "exercise_item": "" if readings_only else template("exercise_item.yaml").rstrip("\n")}
    written = []
    for name, dest, exercise_only in _FILES:
        if exercise_only and readings_only:
            continue
        text = template(name)
        if name.endswith((".yaml", ".yml", ".md", ".toml")) and "$" in text and name not in (
                "mutants.yaml", "notes.md"):
            text = Template(text).safe_substitute(values)
        path = target / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(dest)
    if not readings_only:
        stub = target / "exercises/1_basics/01_word_count.py"
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(make_stub((target / SOLUTION).read_text(encoding="utf-8"), SOLUTION), encoding="utf-8")
        written.append("exercises/1_basics/01_word_count.py")
    return written
