"""The small shared modules: environment names, file writes, suggestions."""

from __future__ import annotations

import os
from pathlib import Path

import retreat.env as env
from retreat.errors import did_you_mean
from retreat.files import atomic_write, first_heading, page_title, stamped_path


def test_no_retreat_variable_of_the_shell_reaches_a_test(hermetic: Path) -> None:
    # The isolation fixture clears them all by prefix: an exported RETREAT_JOURNAL would otherwise
    # send a journal test into the journal of whoever runs the tests.
    assert env.names() == [env.HOME], f"only RETREAT_HOME is set in a test, not {env.names()}"
    assert os.environ[env.HOME] == str(hermetic), "the state folder is the test's own"


def test_every_variable_the_engine_reads_is_named_in_env() -> None:
    root = Path(env.__file__).parent
    named = {getattr(env, k) for k in dir(env) if k.isupper() and isinstance(getattr(env, k), str)}
    for path in root.rglob("*.py"):
        if path.name == "env.py" or "generate" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for word in {w.strip("\"'") for w in text.split() if w.strip("\"'(),").startswith("RETREAT_")}:
            name = word.strip("\"'(),.:;`$")
            if name.isupper() and name.replace("_", "").isalnum():
                assert name in named, f"{path.relative_to(root)} reads {name}, which retreat/env.py does not name"


def test_atomic_write_replaces_whole_and_leaves_nothing_beside(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.txt"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_text() == "second", "the second write replaced the first"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"], "no temporary file is left beside it"


def test_stamped_paths_never_overwrite(tmp_path: Path) -> None:
    first = stamped_path(tmp_path, "db.corrupt-")
    first.write_text("x")
    second = stamped_path(tmp_path, "db.corrupt-")
    assert second != first and not second.exists(), "a second backup in the same second gets its own name"
    assert stamped_path(tmp_path, "softmax.", ".py").suffix == ".py", "the suffix stays last"


def test_page_titles_and_suggestions(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("intro\n# The title \n## sub\n")
    assert first_heading(page.read_text()) == "The title", "the first '# ' heading is the title"
    assert page_title(tmp_path / "missing.md", "fallback") == "fallback", "an unreadable page keeps the fallback"
    assert did_you_mean("softmx", ["softmax", "bigram"]) == ["softmax"], "a near miss is suggested"
    assert did_you_mean("attention", ["causal-attention", "bpe"]) == ["causal-attention"], \
        "a part of an id is suggested too"
