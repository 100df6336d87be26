"""The learner's state: SQLite under the state folder (WAL, busy timeout, versioned schema).

Every write is one short IMMEDIATE transaction, so a crash mid-write leaves the previous state
and two processes at once both land their records.

Faults keep the record, never lose it:
- Another program holding the database (an open sqlite3 shell, a database browser) is waited for,
  with a line saying so, up to RETREAT_DB_WAIT seconds; then a read fails in one line and a write
  is kept for later. A lock is never taken for damage.
- A database is set aside (with a timestamped name, never deleted) and rebuilt only when SQLite
  proves it damaged: "file is not a database", or an integrity check that fails.
- A record the database cannot take (held past the wait, disk full, a read-only or someone else's
  state folder) is kept in a pending file (learner/pending.py) and written by the next command
  that opens the database, with a line saying so. When the database cannot be opened for writing
  at all, a copy is read with the kept records laid over it.

The layout is versioned: `meta.schema_version` says which version a database has, and
`MIGRATIONS[n]` turns version n into n + 1. Opening an older database copies it aside
(`progress.sqlite3.v<n>-<time>`), then runs the missing steps in one transaction, so a crash
in mid-migration leaves the old version whole. Version 0 is a database from before the meta
table. A database from a newer retreat is left untouched, with an error. Tables that are only
ever added (`CREATE TABLE IF NOT EXISTS` in `_SCHEMA`) need no migration. Opening a database
that is up to date writes nothing.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import retreat.env as env
from retreat.errors import RetreatError
from retreat.files import stamped_path
from retreat.learner import pending

T = TypeVar("T")

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
_SCHEMA_OBJECTS = set(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", _SCHEMA))


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


class ProgressBusy(RetreatError):
    """Another program held the database for longer than a command waits; nothing was moved."""


class ProgressUnavailable(RetreatError):
    """The database cannot be read at all (permissions, an I/O error), though it is not proven damaged."""


class _Damaged(Exception):
    """Proof that the database file is damaged: SQLite says it is not a database, or its integrity
    check fails. Only this sets a database aside."""


# SQLite's primary result codes (the low byte of `sqlite_errorcode`).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26
WAITING = "waiting for the progress database: another program holds it"
_STEP = 1.0
"""Seconds SQLite itself waits for a lock before retreat says that it is waiting (then it goes on)."""


def _kind(exc: BaseException) -> str:
    """What an error means for the learner's record: 'busy' (another program holds the database;
    wait, never set aside), 'damaged' (the file may be damaged; to be proven), or 'unwritable'
    (disk full, read-only, permissions, I/O: keep records for later)."""
    if isinstance(exc, OSError):
        return "unwritable"
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return "busy"
        return "damaged" if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) else "unwritable"
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "busy"
    return "damaged" if "not a database" in text or "malformed" in text else "unwritable"


def _reason(exc: BaseException) -> str:
    """A few words on why a write failed, for the line that says the record was kept."""
    if isinstance(exc, ProgressBusy):
        return "another program holds it"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


_CANNOT_WRITE = (sqlite3.Error, OSError, ProgressBusy, ProgressUnavailable, NewerDatabase)


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
    """Read and write the learner's state. Cheap to open; one connection per instance.

    `notify` receives each line the learner should see while retreat works: waiting for a held
    database, a damaged one set aside, a record kept for later or written from earlier (the command
    line prints them on stderr as they happen; by default they collect in `warnings`). A command
    waits up to `wait` seconds (RETREAT_DB_WAIT) for a database another program holds.
    """

    def __init__(self, state_dir: Path, notify: Callable[[str], None] | None = None,
                 wait: float | None = None) -> None:
        self.state_dir = state_dir
        self.path = state_dir / DB_NAME
        self.warnings: list[str] = []
        self.notify = notify or self.warnings.append
        self.wait = env.db_wait() if wait is None else wait
        self.read_only: str | None = None
        """Why the database cannot be written, when this instance reads a copy of it (records are
        then kept in the pending file, and applied to the copy so this command sees them)."""
        self._conn: sqlite3.Connection | None = None
        self._held = False  # another program held the database for the whole wait
        self._kept = False  # a record of this instance went to the pending file

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=_STEP, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_STEP * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._patiently(self._open_once)
        except _Damaged as exc:
            try:
                backup = self._set_aside()
            except OSError as err:
                raise ProgressUnavailable(f"the progress database is damaged ({exc}) and cannot be moved aside "
                                          f"({err.strerror or err}); nothing was changed") from None
            conn = self._patiently(self._open_once)
            self.notify(f"warning: the progress database could not be read ({exc}); it was moved to "
                        f"{backup.name} and a new one was started")
        except (sqlite3.Error, OSError) as exc:  # cannot be written here: read a copy, keep records for later
            return self._open_copy(_reason(exc))
        self._write_pending(conn)
        return conn

    def _open_once(self) -> sqlite3.Connection:
        conn = self._connect_checked()
        try:
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_checked(self) -> sqlite3.Connection:
        """A connection, or _Damaged when SQLite proves the file is not a whole database."""
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if _kind(exc) == "damaged" and self._proven_damaged():
                raise _Damaged(str(exc)) from None
            raise

    def _proven_damaged(self) -> bool:
        """Whether an integrity check on a connection of its own finds the database damaged."""
        try:
            check = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=_STEP)
        except sqlite3.Error:
            return False
        try:
            row = check.execute("PRAGMA quick_check").fetchone()
            return not row or row[0] != "ok"
        except sqlite3.DatabaseError as exc:
            return _kind(exc) == "damaged"
        finally:
            check.close()

    def _patiently(self, attempt: Callable[[], T]) -> T:
        """Run `attempt`, again while another program holds the database, up to `self.wait` seconds;
        the learner is told once that retreat is waiting. Then ProgressBusy; nothing is moved."""
        # Once this command has waited in vain, it tries once more per record rather than wait again.
        deadline = time.monotonic() + (0.0 if self._held else self.wait)
        told = False
        while True:
            try:
                result = attempt()
                self._held = False
                return result
            except sqlite3.OperationalError as exc:
                if _kind(exc) != "busy":
                    raise
                if time.monotonic() >= deadline:
                    self._held = True
                    raise ProgressBusy(f"the progress database ({self.path}) is held by another program (an "
                                       "open sqlite3 shell or database browser?); nothing was changed: close "
                                       "it and run the command again") from None
                if not told and not self._held:
                    self.notify(WAITING)
                    told = True

    def _set_aside(self) -> Path:
        backup = stamped_path(self.state_dir, f"{DB_NAME}.corrupt-")
        self.path.replace(backup)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(DB_NAME + suffix)
            if side.exists():
                side.replace(backup.with_name(backup.name + suffix))
        return backup

    def _ensure_schema(self, conn: sqlite3.Connection, copy_aside: bool = True) -> None:
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            version = _version(conn)
        except sqlite3.DatabaseError as exc:
            if _kind(exc) == "damaged":
                raise _Damaged(str(exc)) from None
            raise
        if check and check[0] != "ok":
            raise _Damaged(f"integrity check failed: {check[0]}")
        if version is not None and version > SCHEMA_VERSION:
            raise NewerDatabase(f"{self.path} has schema version {version}, newer than this retreat knows "
                                f"({SCHEMA_VERSION}): upgrade retreat (pip install -e .) to read it")
        if version == SCHEMA_VERSION and _SCHEMA_OBJECTS <= _objects(conn):
            return  # nothing to write: another program's write lock does not matter to a reader
        if version is not None and version < SCHEMA_VERSION and copy_aside:
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

    def _open_copy(self, reason: str) -> sqlite3.Connection:
        """The database cannot be opened for writing (a read-only or someone else's folder, a full
        disk): read a copy in memory, with the records kept for later laid over it."""
        memory = sqlite3.connect(":memory:", isolation_level=None)
        try:
            exists = self.path.is_file()
        except OSError:
            exists = False
        if exists:
            uri = self.path.resolve().as_uri()
            for mode in ("mode=ro", "immutable=1"):  # immutable: a WAL database in a folder we cannot write
                try:
                    source = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=_STEP)
                    try:
                        source.backup(memory)
                    finally:
                        source.close()
                    break
                except sqlite3.Error:
                    continue
        try:
            self._ensure_schema(memory, copy_aside=False)
        except _Damaged:  # a damaged copy: an empty one, with the records kept for later
            memory.close()
            memory = sqlite3.connect(":memory:", isolation_level=None)
            self._ensure_schema(memory, copy_aside=False)
        self.read_only = reason
        with transaction(memory):
            for record in pending.peek(self.state_dir):
                _apply(memory, record, replay=True)
        self.notify(f"warning: the progress database cannot be written ({reason}); retreat reads it as it "
                    "is and keeps new records aside until it can be written")
        return memory

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- records kept for later ---------------------------------------------------------------
    def _write_pending(self, conn: sqlite3.Connection) -> None:
        """Write the records earlier commands had to keep aside, in one transaction; when the
        database is still busy they stay where they are for the next command. A line that is no
        record this retreat knows is moved to a file beside the pending one, and the learner told."""
        for claim in pending.claim_all(self.state_dir):
            written, unknown = [], list(claim.unreadable)
            try:
                with transaction(conn):
                    for record in claim.records:
                        try:
                            _apply(conn, record, replay=True)
                            written.append(record)
                        except (KeyError, TypeError, ValueError, sqlite3.IntegrityError):
                            unknown.append(json.dumps(record, sort_keys=True).encode())
            except sqlite3.Error:
                claim.give_back()
                continue
            if unknown and (aside := pending.keep_unreadable(claim, unknown)) is not None:
                self.notify(f"warning: {len(unknown)} line(s) of {claim.source} are not records this retreat "
                            f"can write; they are kept in {aside}")
            claim.done()
            if written:
                self.notify(f"recorded {_describe(written)} that could not be written earlier "
                            f"(kept in {claim.source})")

    def _write(self, record: dict) -> None:
        """Write one record now; when the database cannot take it, keep it for the next command."""
        try:
            self._patiently(lambda: self._apply_now(record))
        except _CANNOT_WRITE as exc:
            self._keep(record, _reason(exc))
            return
        except KeyboardInterrupt:  # stopped while waiting for the database: the record is kept all the same
            self._keep(record, "interrupted")
            raise
        if self.read_only is not None:
            self._keep(record, self.read_only)
        elif self._kept:  # a long command (watch, check --all) writes what it kept as soon as it can
            self._kept = False
            self._write_pending(self.conn)

    def _apply_now(self, record: dict) -> None:
        with transaction(self.conn) as c:
            _apply(c, record, replay=False)

    def _keep(self, record: dict, reason: str) -> None:
        where = pending.keep(self.state_dir, record)
        self._kept = where is not None
        what = _describe([record])
        if where is None:
            self.notify(f"warning: {what} could NOT be recorded: the progress database cannot be written "
                        f"({reason}) and neither can any place to keep it for later")
        elif self.read_only is None:
            self.notify(f"{what} could not be written to the progress database ({reason}); it is kept in "
                        f"{where} and the next retreat command records it")
        else:
            self.notify(f"{what} is kept in {where} until the progress database can be written")

    # -- reads ------------------------------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a read, waiting (as writes do) while another program holds the database."""
        return self._patiently(lambda: self.conn.execute(sql, args).fetchall())

    def states(self) -> dict[str, ItemState]:
        rows = self.query(
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
        )
        return {r[0]: ItemState(*r) for r in rows}

    def state(self, item_id: str) -> ItemState:
        return self.states().get(item_id, ItemState(item_id))

    def attempts(self, item_id: str | None = None) -> list[Attempt]:
        sql = "SELECT item, started, duration, passed, total, ok, file_hash, outcome, unofficial FROM attempts"
        args: tuple = ()
        if item_id is not None:
            sql += " WHERE item = ?"
            args = (item_id,)
        rows = self.query(sql + " ORDER BY started, seq", args)
        return [Attempt(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8]) for r in rows]

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # -- writes -----------------------------------------------------------------------------
    def record_attempt(self, item_id: str, *, started: float, duration: float, passed: int, total: int,
                       ok: bool, file_hash: str | None, outcome: str, unofficial: str | None = None) -> None:
        """Store one graded run; a passing run also marks the item passed. `unofficial` says why
        the grade cannot be trusted, if it cannot (retreat/grading/lock.py)."""
        self._write({"op": "attempt", "item": item_id, "started": started, "duration": duration,
                     "passed": passed, "total": total, "ok": bool(ok), "file_hash": file_hash,
                     "outcome": outcome, "unofficial": unofficial})

    def set_status(self, item_id: str, status: str | None, at: float | None = None) -> None:
        if status is not None and status not in STATUSES:
            raise ValueError(status)
        self._write({"op": "status", "item": item_id, "status": status,
                     "at": at if at is not None else time.time()})

    def next_hint(self, item_id: str, available: int) -> int:
        """Reveal one more hint (up to `available`); return how many are now shown."""
        def reveal() -> int:
            with transaction(self.conn) as c:
                row = c.execute("SELECT hints_shown FROM items WHERE id = ?", (item_id,)).fetchone()
                shown = min((row[0] if row else 0) + 1, available)
                _apply(c, {"op": "hints", "item": item_id, "shown": shown}, replay=False)
            return shown

        try:
            shown = self._patiently(reveal)
        except _CANNOT_WRITE as exc:
            try:
                before = self.state(item_id).hints_shown
            except _CANNOT_WRITE:
                before = 0
            shown = min(before + 1, available)
            self._keep({"op": "hints", "item": item_id, "shown": shown}, _reason(exc))
            return shown
        if self.read_only is not None:
            self._keep({"op": "hints", "item": item_id, "shown": shown}, self.read_only)
        return shown

    def record_review(self, item_id: str, *, step: int, due: float, at: float, ok: bool, reviews: int,
                      lapses: int) -> None:
        """Store where an item stands in its review schedule after a review (learner/review.py)."""
        self._write({"op": "review", "item": item_id, "step": step, "due": due, "at": at, "ok": bool(ok),
                     "reviews": reviews, "lapses": lapses})

    def set_meta(self, key: str, value: str) -> None:
        self._write({"op": "meta", "key": key, "value": value})


# -- the records, applied now or replayed from the pending file ---------------------------------
def _apply(c: sqlite3.Connection, r: dict, replay: bool) -> None:
    """Apply one record inside the caller's transaction. A replayed record (from the pending file)
    is skipped when the database already holds it or something newer, so replaying twice is safe."""
    op = r["op"]
    if op == "attempt":
        if replay and c.execute("SELECT 1 FROM attempts WHERE item = ? AND started = ? AND duration = ?",
                                (r["item"], r["started"], r["duration"])).fetchone():
            return
        c.execute("INSERT INTO attempts (item, started, duration, passed, total, ok, file_hash, outcome, unofficial)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (r["item"], r["started"], r["duration"], r["passed"], r["total"], int(r["ok"]), r["file_hash"],
                   r["outcome"], r["unofficial"]))
        if r["ok"]:
            c.execute("INSERT INTO items (id, status, status_at) VALUES (?, 'passed', ?)"
                      " ON CONFLICT(id) DO UPDATE SET status = 'passed', status_at = excluded.status_at",
                      (r["item"], r["started"] + r["duration"]))
    elif op == "status":
        if r["status"] is not None and r["status"] not in STATUSES:
            raise ValueError(r["status"])
        newer = " WHERE items.status_at IS NULL OR items.status_at <= excluded.status_at" if replay else ""
        c.execute("INSERT INTO items (id, status, status_at) VALUES (?, ?, ?)"
                  " ON CONFLICT(id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at" + newer,
                  (r["item"], r["status"], r["at"]))
    elif op == "hints":
        c.execute("INSERT INTO items (id, hints_shown) VALUES (?, ?)"
                  " ON CONFLICT(id) DO UPDATE SET hints_shown = MAX(items.hints_shown, excluded.hints_shown)",
                  (r["item"], int(r["shown"])))
    elif op == "review":
        newer = " WHERE reviews.last_at <= excluded.last_at" if replay else ""
        c.execute("INSERT INTO reviews (item, step, due, last_at, last_ok, reviews, lapses)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT(item) DO UPDATE SET step = excluded.step, due = excluded.due,"
                  " last_at = excluded.last_at, last_ok = excluded.last_ok, reviews = excluded.reviews,"
                  " lapses = excluded.lapses" + newer,
                  (r["item"], r["step"], r["due"], r["at"], int(r["ok"]), r["reviews"], r["lapses"]))
    elif op == "meta":
        c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (r["key"], r["value"]))
    else:
        raise ValueError(f"unknown record {op!r}")


def _describe(records: list[dict]) -> str:
    """Records in a few words: 'the attempt at softmax (passed)', '3 records (2 attempts, 1 hint)'."""
    if len(records) == 1:
        r = records[0]
        return {"attempt": lambda: f"the attempt at {r['item']} ({r['outcome']})",
                "status": lambda: f"{r['item']} marked {r['status'] or 'not done'}",
                "hints": lambda: f"the hint shown for {r['item']}",
                "review": lambda: f"the review of {r['item']}"}.get(r["op"], lambda: "a setting")()
    names = {"attempt": "attempt", "status": "status", "hints": "hint", "review": "review"}
    counts: dict[str, int] = {}
    for r in records:
        name = names.get(r["op"], "setting")
        counts[name] = counts.get(name, 0) + 1
    return f"{len(records)} records (" + ", ".join(f"{n} {w}{'es' if w == 'status' and n > 1 else 's' if n > 1 else ''}"
                                                  for w, n in counts.items()) + ")"


def _objects(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}


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
        raise _Damaged(f"unreadable schema version {row[0]!r}") from None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short IMMEDIATE transaction: committed whole, or rolled back whole."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLite has already rolled back after some errors (a full disk): the first error is the one to tell.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise
