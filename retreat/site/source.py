"""What an exercise page shows from the course's Python files: the task (the module docstring),
the public names with their signatures, the pristine stub and the names of the checks; and the
lines learners write (`solution_lines`), which no published page may show.

Everything is read with `ast` from the reference solution (the stub is generated from it, the
same way `retreat dev stubs` does), never imported: building the site runs no course code and
never shows the learner's own, half-edited file. A missing or unparsable file gives an empty
result, so a course under construction still builds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from retreat.markers import StubError, learner_lines, make_stub
from retreat.roadmap import Roadmap

_MIN_LINE = 16  # shorter lines ('return x', 'pass') are too common to count as the solution


@dataclass(frozen=True)
class PublicName:
    """A top-level function or class the learner writes or uses."""

    name: str
    kind: str  # "function" or "class"
    signature: str  # "def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor"
    doc: str
    methods: tuple[PublicName, ...] = ()


@dataclass(frozen=True)
class ExerciseSource:
    task: str
    """The module docstring: the task in the author's words ('' if none)."""
    names: tuple[PublicName, ...]
    stub: str | None
    """The stub as `retreat dev stubs` generates it (None if the solution is missing)."""
    checks: tuple[str, ...]
    """Test function names, in file order (test_rows_sum_to_one ...)."""


def _read(path: Path) -> str | None:
    from retreat.source import SourceError, read_source

    try:
        return read_source(path)  # as Python reads it: a coding line, a BOM, CRLF
    except (OSError, SourceError):
        return None


def _parse(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    ret = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){ret}"


def _class_signature(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"


def _public(name: str) -> bool:
    return not name.startswith("_")


def public_names(tree: ast.Module) -> tuple[PublicName, ...]:
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            out.append(PublicName(node.name, "function", _signature(node), ast.get_docstring(node) or ""))
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            methods = tuple(
                PublicName(m.name, "method", _signature(m), ast.get_docstring(m) or "")
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (_public(m.name) or m.name in ("__init__", "__call__"))
            )
            out.append(PublicName(node.name, "class", _class_signature(node),
                                  ast.get_docstring(node) or "", methods))
    return tuple(out)


def test_names(tree: ast.Module | None) -> tuple[str, ...]:
    if tree is None:
        return ()
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names.extend(f"{node.name}.{m.name}" for m in node.body
                         if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and m.name.startswith("test"))
    return tuple(names)


def exercise_source(root: Path, solution: str, tests: str) -> ExerciseSource:
    text = _read(root / solution)
    stub = None
    if text is not None:
        try:
            stub = make_stub(text, solution)
        except StubError:
            stub = None
    tree = _parse(stub) or _parse(text)
    task = (ast.get_docstring(tree) or "") if tree else ""
    names = public_names(tree) if tree else ()
    return ExerciseSource(task, names, stub, test_names(_parse(_read(root / tests))))


def check_title(test_name: str) -> str:
    """test_rows_sum_to_one -> 'rows sum to one' (TestCache.test_x -> 'Cache: x')."""
    cls, _, func = test_name.rpartition(".")
    words = func.removeprefix("test_").removeprefix("test").replace("_", " ").strip()
    if cls:
        return f"{cls.removeprefix('Test')}: {words}"
    return words


def normalised(line: str) -> str:
    """A line with its whitespace normalised, as `solution_lines` keys it."""
    return " ".join(line.split())


def solution_lines(root: Path, roadmap: Roadmap) -> dict[str, str]:
    """Each line the learner writes in a course exercise (inside a solution's TODO blocks),
    whitespace-normalised, mapped to its exercise id."""
    out: dict[str, str] = {}
    for ex in roadmap.exercises:
        if ex.solution == ex.exercise:  # the learner's own exercise is its own reference
            continue
        text = _read(root / ex.solution)
        for line in learner_lines(text or ""):
            norm = normalised(line)
            if len(norm) >= _MIN_LINE and not norm.startswith(("#", '"', "'")):
                out.setdefault(norm, ex.id)
    return out

