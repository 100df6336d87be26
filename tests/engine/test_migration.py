"""A state database from an older retreat is migrated, keeps every record, and is copied aside first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from engine_helpers import run_cli

from retreat.learner import progress as progress_module
from retreat.learner.progress import DB_NAME, SCHEMA_VERSION, NewerDatabase, Progress

# Version 0: before the meta table, items without hints, attempts without file hash or outcome.
V0_LAYOUT = """
CREATE TABLE items (id TEXT PRIMARY KEY, status TEXT, status_at REAL);
CREATE TABLE attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, started REAL NOT NULL,
                       duration REAL NOT NULL, passed INTEGER NOT NULL, total INTEGER NOT NULL, ok INTEGER NOT NULL);
INSERT INTO items VALUES ('intro', 'done', 10.0);
INSERT INTO items VALUES ('add', 'passed', 30.0);
INSERT INTO attempts (item, started, duration, passed, total, ok) VALUES ('add', 20.0, 1.5, 0, 2, 0);
INSERT INTO attempts (item, started, duration, passed, total, ok) VALUES ('add', 28.0, 2.0, 2, 2, 1);
"""

# Version 1: the first versioned layout, as retreat 0.1 wrote it.
V1_LAYOUT = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (id TEXT PRIMARY KEY, status TEXT CHECK (status IN ('passed', 'done', 'skipped')),
                    status_at REAL, hints_shown INTEGER NOT NULL DEFAULT 0);
CREATE TABLE attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, started REAL NOT NULL,
                       duration REAL NOT NULL, passed INTEGER NOT NULL, total INTEGER NOT NULL,
                       ok INTEGER NOT NULL, file_hash TEXT, outcome TEXT NOT NULL DEFAULT '');
CREATE INDEX attempts_item ON attempts (item, started);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO items VALUES ('greet', 'passed', 50.0, 2);
INSERT INTO attempts (item, started, duration, passed, total, ok, file_hash, outcome)
    VALUES ('greet', 40.0, 1.0, 1, 3, 0, 'h1', 'failed');
INSERT INTO attempts (item, started, duration, passed, total, ok, file_hash, outcome)
    VALUES ('greet', 49.0, 1.0, 3, 3, 1, 'h2', 'passed');
"""


def _make(state: Path, script: str) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state / DB_NAME)
    db.executescript(script)
    db.close()
    return state / DB_NAME


def _layout(path: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name != 'sqlite_sequence' ORDER BY name")]
    layout = {t: sorted(r[1] for r in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    db.close()
    return layout


def test_a_v0_database_is_migrated_and_keeps_every_record(tmp_path: Path) -> None:
    _make(tmp_path, V0_LAYOUT)
    p = Progress(tmp_path)
    states = p.states()
    assert p.warnings == []
    assert states["intro"].status == "done" and states["add"].status == "passed"
    assert states["add"].attempts == 2 and states["add"].best_passed == 2 and states["add"].hints_shown == 0
    assert [(a.ok, a.outcome, a.file_hash, a.unofficial) for a in p.attempts("add")] == [
        (False, "failed", None, None), (True, "passed", None, None)]
    assert p.get_meta("schema_version") == str(SCHEMA_VERSION)
    p.record_attempt("greet", started=60.0, duration=1.0, passed=1, total=1, ok=True, file_hash="h",
                     outcome="passed", unofficial="tests/x.py changed")
    assert p.attempts("greet")[0].unofficial == "tests/x.py changed"
    # The old file was copied aside, whole, before anything changed.
    copies = list(tmp_path.glob(f"{DB_NAME}.v0-*"))
    assert len(copies) == 1
    old = sqlite3.connect(copies[0])
    assert old.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)
    assert "meta" not in {r[0] for r in old.execute("SELECT name FROM sqlite_master")}


def test_a_v1_database_gains_the_unofficial_column(tmp_path: Path) -> None:
    _make(tmp_path, V1_LAYOUT)
    p = Progress(tmp_path)
    greet = p.state("greet")
    assert greet.status == "passed" and greet.hints_shown == 2 and greet.attempts == 2
    assert [a.file_hash for a in p.attempts("greet")] == ["h1", "h2"]
    assert all(a.unofficial is None for a in p.attempts("greet"))
    assert p.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert len(list(tmp_path.glob(f"{DB_NAME}.v1-*"))) == 1
    p.close()
    # Opening it again migrates nothing and copies nothing.
    again = Progress(tmp_path)
    assert again.state("greet").attempts == 2
    assert len(list(tmp_path.glob(f"{DB_NAME}.v1-*"))) == 1


@pytest.mark.parametrize("script", [V0_LAYOUT, V1_LAYOUT], ids=["v0", "v1"])
def test_every_migration_path_ends_at_the_layout_of_a_new_database(tmp_path: Path, script: str) -> None:
    fresh = tmp_path / "fresh"
    Progress(fresh).states()
    old = tmp_path / "old"
    _make(old, script)
    Progress(old).states()
    assert _layout(old / DB_NAME) == _layout(fresh / DB_NAME)


def test_a_crash_in_mid_migration_leaves_the_old_version_whole(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path, V1_LAYOUT)

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE attempts ADD COLUMN unofficial TEXT")
        raise KeyboardInterrupt  # the learner pressed Ctrl-C, or the machine went down

    monkeypatch.setattr(progress_module, "MIGRATIONS", (progress_module.MIGRATIONS[0], half_done))
    with pytest.raises(KeyboardInterrupt):
        Progress(tmp_path).states()
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    assert "unofficial" not in {r[1] for r in db.execute("PRAGMA table_info(attempts)")}
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)
    db.close()
    monkeypatch.undo()
    assert Progress(tmp_path).state("greet").attempts == 2  # the next run migrates it


def test_a_database_from_a_newer_retreat_is_left_alone(course_dir: Path, hermetic: Path) -> None:
    db = _make(hermetic, V1_LAYOUT.replace("('schema_version', '1')", "('schema_version', '99')"))
    with pytest.raises(NewerDatabase, match="schema version 99, newer than this retreat knows"):
        _ = Progress(hermetic).conn
    r = run_cli(course_dir, "list")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "upgrade retreat" in r.stderr
    kept = sqlite3.connect(db)
    assert kept.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("99",)
    assert kept.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)
    assert "unofficial" not in {r[1] for r in kept.execute("PRAGMA table_info(attempts)")}
    assert not list(hermetic.glob(f"{DB_NAME}.corrupt-*")) and not list(hermetic.glob(f"{DB_NAME}.v*"))


def test_a_versioned_database_missing_a_table_gets_it(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                    "INSERT INTO meta VALUES ('schema_version', '1');")
    p = Progress(tmp_path)
    p.record_attempt("add", started=1.0, duration=1.0, passed=1, total=1, ok=True, file_hash=None,
                     outcome="passed", unofficial="x")
    assert p.warnings == [] and p.attempts("add")[0].unofficial == "x"
