"""docs/guide/promises.md names the tests that prove each promise: every one of them exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs/guide/promises.md"


def test_every_test_the_promises_page_names_exists() -> None:
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", PAGE.read_text(encoding="utf-8"))
    assert len(named) >= 30, "the page names the tests behind each promise"
    missing = []
    for rel, name in named:
        path = REPO / rel
        tree = ast.parse(path.read_text(encoding="utf-8")) if path.is_file() else ast.Module(body=[])
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if name not in functions:
            missing.append(f"{rel}::{name}")
    assert not missing, f"promises.md names tests that do not exist: {missing}"
