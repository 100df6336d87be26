"""Forbidden shortcuts: calls an exercise asks the learner to write by hand.

Enforced twice. A static scan of the learner's file resolves import aliases and flags any use of a
forbidden name (`F.softmax`, `from torch import softmax`, `x.softmax(...)` for `torch.Tensor.softmax`).
A runtime guard, installed in the grading child before the learner's module is imported, wraps each
forbidden callable so that a call made from the graded file raises `ForbiddenCall`, which catches
what a scan cannot see (`getattr(torch, "soft" + "max")`). Calls from the tests themselves, which use
the same functions as oracles, pass through.
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import sys
from dataclasses import dataclass


class ForbiddenCall(Exception):
    """A forbidden function or class was used by the graded file."""


def explain(name: str) -> str:
    return (f"{name} is off limits in this exercise: the point is to write it yourself "
            "from simpler operations")


@dataclass(frozen=True)
class Violation:
    line: int
    name: str
    via: str

    def message(self, rel: str) -> str:
        shown = f"{self.via} ({self.name})" if self.via != self.name else self.name
        return f"{rel}:{self.line} uses {shown}; {explain(self.name).split(': ', 1)[1]}"


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def scan_source(text: str, forbidden: tuple[str, ...] | list[str]) -> list[Violation]:
    """Every use of a forbidden name in `text`, with import aliases resolved."""
    if not forbidden:
        return []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # the grader reports the syntax error itself
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    methods = {f.rsplit(".", 1)[1]: f for f in forbidden if f.startswith("torch.Tensor.")}
    found: list[Violation] = []
    seen: set[tuple[int, str]] = set()

    def flag(line: int, name: str, via: str) -> None:
        if (line, name) not in seen:
            seen.add((line, name))
            found.append(Violation(line, name, via))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                for f in forbidden:
                    if full == f:
                        flag(node.lineno, f, f"from {node.module} import {a.name}")
        if isinstance(node, ast.Attribute | ast.Name) and not isinstance(getattr(node, "ctx", None), ast.Store):
            dotted = _dotted(node)
            if dotted:
                head, _, rest = dotted.partition(".")
                full = aliases.get(head, head) + (f".{rest}" if rest else "")
                for f in forbidden:
                    if full == f:
                        flag(node.lineno, f, dotted)
            if isinstance(node, ast.Attribute) and node.attr in methods:
                base = _dotted(node.value)
                base_full = None
                if base:
                    head, _, rest = base.partition(".")
                    base_full = aliases.get(head, head) + (f".{rest}" if rest else "")
                # x.softmax(...) on a tensor; torch.softmax itself is matched above when forbidden.
                if base_full is None or not base_full.startswith(("torch", "numpy", "math")):
                    flag(node.lineno, methods[node.attr], f".{node.attr}()")
    return sorted(found, key=lambda v: (v.line, v.name))


# -- the runtime guard ---------------------------------------------------------------------------

def _resolve(name: str) -> tuple[object, str, object] | None:
    """(owner, attribute, value) for a dotted name, importing what must be imported; None if absent."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        if module_name.split(".")[0] not in sys.modules and module_name.split(".")[0] not in ("torch", "numpy"):
            continue  # never import a heavy library only to guard it
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
            return owner, parts[-1], getattr(owner, parts[-1])
        except AttributeError:
            return None
    return None


def install_guards(forbidden: list[str], graded: str) -> list[str]:
    """Wrap each forbidden callable so that calls from the graded file raise ForbiddenCall."""
    graded_path = os.path.realpath(graded)
    installed = []
    for name in forbidden:
        found = _resolve(name)
        if found is None:
            continue
        owner, attr, value = found
        if getattr(value, "__retreat_guard__", False):
            continue
        if isinstance(value, type):
            guarded = _guard_class(value, name, graded_path)
        elif callable(value):
            guarded = _guard_function(value, name, graded_path)
        else:
            continue
        try:
            setattr(owner, attr, guarded)
            installed.append(name)
        except (AttributeError, TypeError):
            pass
    return installed


def _from_graded(graded_path: str, depth: int) -> int | None:
    frame = sys._getframe(depth)
    if frame is not None and os.path.realpath(frame.f_code.co_filename) == graded_path:
        return frame.f_lineno
    return None


def _guard_function(func, name: str, graded_path: str):
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        line = _from_graded(graded_path, 2)
        if line is not None:
            raise ForbiddenCall(f"line {line} calls {name}; {explain(name).split(': ', 1)[1]}")
        return func(*args, **kwargs)

    guarded.__retreat_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _guard_class(cls: type, name: str, graded_path: str) -> type:
    original_init = cls.__init__

    def __init__(self, *args, **kwargs):
        line = _from_graded(graded_path, 2)
        if line is not None and type(self) is guarded:
            raise ForbiddenCall(f"line {line} builds {name}; {explain(name).split(': ', 1)[1]}")
        original_init(self, *args, **kwargs)

    guarded = type(cls.__name__, (cls,), {"__init__": __init__, "__retreat_guard__": True,
                                          "__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return guarded
