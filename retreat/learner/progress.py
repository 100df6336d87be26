"""The learner's state: SQLite under the state folder (WAL, busy timeout, versioned schema).

Every write is one short IMMEDIATE transaction, so a crash mid-write leaves the previous state
and two processes at once both land their records. A database that cannot be read is set aside
with a timestamped name and rebuilt, with a warning; nothing is deleted.

The layout is versioned: `meta.schema_version` says which version a database has, and
`MIGRATIONS[n]` turns version n into n + 1. Opening an older database copies it aside
(`progress.sqlite3.v<n>-<time>`), then runs the missing steps in one transaction, so a crash
in mid-migration leaves the old version whole. Version 0 is a database from before the meta
table. A database from a newer retreat is left untouched, with an error. Tables that are only
ever added (`CREATE TABLE IF NOT EXISTS` in `_SCHEMA`) need no migration.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from retreat.errors import RetreatError
from retreat.files import stamped_path

SCHEMA_VERSION = 2
DB_NAME = "progress.sqlite3"
STATUSES = ("passed", "done", "skipped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    status TEXT CHECK (status IN ('passed', 'done', 'skipped')),
    status_at REAL,
    hints_shown INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item TEXT NOT NULL,
    started REAL NOT NULL,
    duration REAL NOT NULL,
    passed INTEGER NOT NULL,
    total INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    file_hash TEXT,
    outcome TEXT NOT NULL DEFAULT '',
    unofficial TEXT
);
CREATE INDEX IF NOT EXISTS attempts_item ON attempts (item, started);
-- The spaced-review schedule of passed items (retreat/learner/review.py); no row: first review a day after the pass.
CREATE TABLE IF NOT EXISTS reviews (
    item TEXT PRIMARY KEY,
    step INTEGER NOT NULL,
    due REAL NOT NULL,
    last_at REAL NOT NULL,
    last_ok INTEGER NOT NULL,
    reviews INTEGER NOT NULL DEFAULT 0,
    lapses INTEGER NOT NULL DEFAULT 0
);
"""


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a script (a ';' inside a comment or a string does not split one)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf
            buf = ""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Before the meta table: add what version 1 has and an older layout lacks."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, status TEXT CHECK (status IN "
                 "('passed', 'done', 'skipped')), status_at REAL, hints_shown INTEGER NOT NULL DEFAULT 0)")
    conn.execute("CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, "
                 "started REAL NOT NULL, duration REAL NOT NULL, passed INTEGER NOT NULL, total INTEGER NOT NULL, "
                 "ok INTEGER NOT NULL)")
    for table, column, decl in (("items", "status_at", "REAL"),
                                ("items", "hints_shown", "INTEGER NOT NULL DEFAULT 0"),
                                ("attempts", "file_hash", "TEXT"),
                                ("attempts", "outcome", "TEXT NOT NULL DEFAULT ''")):
        if column not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    conn.execute("UPDATE attempts SET outcome = CASE WHEN ok THEN 'passed' ELSE 'failed' END WHERE outcome = ''")


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Attempts say why a grade was unofficial (a course file changed since the course was locked)."""
    columns = _columns(conn, "attempts")  # none: no table yet, and _SCHEMA creates it whole
    if columns and "unofficial" not in columns:
        conn.execute("ALTER TABLE attempts ADD COLUMN unofficial TEXT")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v0_to_v1, _v1_to_v2)
"""MIGRATIONS[n] turns a version-n database into version n + 1, inside the caller's transaction."""
assert len(MIGRATIONS) == SCHEMA_VERSION


class NewerDatabase(RetreatError):
    """The database was written by a newer retreat: this one neither sets it aside nor writes it."""


@dataclass(frozen=True)
class Attempt:
    item: str
    started: float
    duration: float
    passed: int
    total: int
    ok: bool
    file_hash: str | None
    outcome: str
    unofficial: str | None = None


@dataclass(frozen=True)
class ItemState:
    id: str
    status: str | None = None
    status_at: float | None = None
    hints_shown: int = 0
    attempts: int = 0
    best_passed: int = 0
    best_total: int = 0
    time_spent: float = 0.0
    last_attempt: float | None = None

    @property
    def complete(self) -> bool:
        return self.status in STATUSES


class Progress:
    """Read and write the learner's state. Cheap to open; one connection per instance."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / DB_NAME
        self.warnings: list[str] = []
        self._conn: sqlite3.Connection | None = None

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            self._ensure_schema(conn)
            return conn
        except sqlite3.DatabaseError as exc:  # not a database, truncated, or malformed
            backup = self._set_aside()
            conn = self._connect()
            self._ensure_schema(conn)
            self.warnings.append(
                f"the progress database could not be read ({exc}); it was moved to {backup.name} "
                "and a new one was started"
            )
            return conn

    def _set_aside(self) -> Path:
        backup = stamped_path(self.state_dir, f"{DB_NAME}.corrupt-")
        self.path.replace(backup)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(DB_NAME + suffix)
            if side.exists():
                side.replace(backup.with_name(backup.name + suffix))
        return backup

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        check = conn.execute("PRAGMA quick_check").fetchone()
        if check and check[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {check[0]}")
        version = _version(conn)
        if version is not None and version > SCHEMA_VERSION:
            conn.close()
            raise NewerDatabase(f"{self.path} has schema version {version}, newer than this retreat knows "
                                f"({SCHEMA_VERSION}): upgrade retreat (pip install -e .) to read it")
        if version is not None and version < SCHEMA_VERSION:
            self._copy_aside(conn, version)
        with transaction(conn):
            version = _version(conn)  # another process may have migrated it meanwhile
            for step in MIGRATIONS[version:] if version is not None else ():
                step(conn)
            for stmt in _statements(_SCHEMA):  # a new database, or tables added since
                conn.execute(stmt)
            if version != SCHEMA_VERSION:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) "
                             "DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))

    def _copy_aside(self, conn: sqlite3.Connection, version: int) -> Path:
        """A consistent copy of a database about to be migrated, beside it."""
        target = stamped_path(self.state_dir, f"{DB_NAME}.v{version}-")
        copy = sqlite3.connect(target)
        try:
            conn.backup(copy)
        finally:
            copy.close()
        return target

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- reads ------------------------------------------------------------------------------
    def states(self) -> dict[str, ItemState]:
        rows = self.conn.execute(
            """
            SELECT i.id, i.status, i.status_at, i.hints_shown,
                   COUNT(a.seq), COALESCE(MAX(a.passed), 0), COALESCE(MAX(a.total), 0),
                   COALESCE(SUM(a.duration), 0), MAX(a.started)
            FROM (SELECT id, status, status_at, hints_shown FROM items
                  UNION SELECT DISTINCT item, NULL, NULL, 0 FROM attempts
                        WHERE item NOT IN (SELECT id FROM items)) i
            LEFT JOIN attempts a ON a.item = i.id
            GROUP BY i.id
            """
        ).fetchall()
        return {r[0]: ItemState(*r) for r in rows}

    def state(self, item_id: str) -> ItemState:
        return self.states().get(item_id, ItemState(item_id))

    def attempts(self, item_id: str | None = None) -> list[Attempt]:
        sql = "SELECT item, started, duration, passed, total, ok, file_hash, outcome, unofficial FROM attempts"
        args: tuple = ()
        if item_id is not None:
            sql += " WHERE item = ?"
            args = (item_id,)
        rows = self.conn.execute(sql + " ORDER BY started, seq", args).fetchall()
        return [Attempt(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8]) for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- writes -----------------------------------------------------------------------------
    def record_attempt(self, item_id: str, *, started: float, duration: float, passed: int, total: int,
                       ok: bool, file_hash: str | None, outcome: str, unofficial: str | None = None) -> None:
        """Store one graded run; a passing run also marks the item passed. `unofficial` says why
        the grade cannot be trusted, if it cannot (retreat/grading/lock.py)."""
        with transaction(self.conn) as c:
            c.execute(
                "INSERT INTO attempts (item, started, duration, passed, total, ok, file_hash, outcome, unofficial)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, started, duration, passed, total, int(ok), file_hash, outcome, unofficial),
            )
            if ok:
                c.execute(
                    "INSERT INTO items (id, status, status_at) VALUES (?, 'passed', ?)"
                    " ON CONFLICT(id) DO UPDATE SET status = 'passed', status_at = excluded.status_at",
                    (item_id, started + duration),
                )

    def set_status(self, item_id: str, status: str | None, at: float | None = None) -> None:
        if status is not None and status not in STATUSES:
            raise ValueError(status)
        with transaction(self.conn) as c:
            c.execute(
                "INSERT INTO items (id, status, status_at) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at",
                (item_id, status, at if at is not None else time.time()),
            )

    def next_hint(self, item_id: str, available: int) -> int:
        """Reveal one more hint (up to `available`); return how many are now shown."""
        with transaction(self.conn) as c:
            row = c.execute("SELECT hints_shown FROM items WHERE id = ?", (item_id,)).fetchone()
            shown = min((row[0] if row else 0) + 1, available)
            c.execute(
                "INSERT INTO items (id, hints_shown) VALUES (?, ?)"
                " ON CONFLICT(id) DO UPDATE SET hints_shown = excluded.hints_shown",
                (item_id, shown),
            )
        return shown

    def set_meta(self, key: str, value: str) -> None:
        with transaction(self.conn) as c:
            c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, value))


def _version(conn: sqlite3.Connection) -> int | None:
    """The database's schema version: None for an empty database, 0 for one from before `meta`."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables - {"sqlite_sequence"}:
        return None
    if "meta" not in tables:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        raise sqlite3.DatabaseError(f"unreadable schema version {row[0]!r}") from None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short IMMEDIATE transaction: committed whole, or rolled back whole."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
