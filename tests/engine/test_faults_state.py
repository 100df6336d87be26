"""The learner's record under everyday faults: another program holding the database, a full disk,
a read-only or someone else's state folder. The verdict is always shown, nothing is set aside
unless SQLite proves it damaged, a record that cannot be written is kept and written by the next
command, and nothing ends in a traceback."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from engine_helpers import run_cli, solve
from test_quiz import RIGHT, add_quiz

from retreat.learner import pending
from retreat.learner.progress import DB_NAME, WAITING, Progress, ProgressBusy

FAST = {"RETREAT_DB_WAIT": "2"}
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
if sys.argv[2] == "exclusive":  # readers are shut out too
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
else:  # the write lock an open sqlite3 shell or a database browser takes
    conn.execute("BEGIN IMMEDIATE")
conn.execute("SELECT count(*) FROM attempts").fetchall()
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held(db: Path, mode: str = "write") -> Iterator[None]:
    """Another program holds the progress database until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def attempts(state: Path) -> list[tuple]:
    db = sqlite3.connect(f"{(state / DB_NAME).as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT item, ok FROM attempts ORDER BY seq").fetchall()
    finally:
        db.close()


def merged(root: Path, *args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run the CLI with stderr folded into stdout, to see what comes first."""
    return subprocess.run([sys.executable, "-m", "retreat.cli", *args], cwd=root, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def one_clean_line(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in stderr, stderr


def about_progress(stderr: str) -> list[str]:
    """The lines of stderr that are not about the grading server (whether it could start is its
    own business, said in its own line)."""
    return [line for line in stderr.strip().splitlines() if "grading server" not in line]


@pytest.fixture
def passed_once(course_dir: Path, hermetic: Path) -> Path:
    """The fixture course with `add` solved and passed once (a database with one attempt)."""
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    assert attempts(hermetic) == [("add", 1)]
    return course_dir


# -- another program holds the database ----------------------------------------------------------
def test_a_held_write_lock_is_waited_for_never_set_aside_and_the_record_is_kept(
        passed_once: Path, hermetic: Path) -> None:
    root, before = passed_once, sorted(p.name for p in hermetic.iterdir())
    with held(hermetic / DB_NAME):
        r = run_cli(root, "list", env=FAST)  # a reader is not held up by a writer (WAL)
        assert r.returncode == 0 and "✓ add" in r.stdout and "10 points" in r.stdout, r.stderr
        r = merged(root, "check", "add", env=FAST)
        assert r.returncode == 0, r.stdout
        one_clean_line(r.stdout, WAITING, "kept in", "the next retreat command records it")
        # The verdict comes first, then the wait for the database.
        assert r.stdout.index("✓ add passed") < r.stdout.index(WAITING), r.stdout
        assert attempts(hermetic) == [("add", 1)]
    assert not list(hermetic.glob("*corrupt*")) and (hermetic / "pending.jsonl").is_file()
    r = run_cli(root, "list", env=FAST)
    assert r.returncode == 0
    one_clean_line(r.stderr, "recorded the attempt at add (passed) that could not be written earlier")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert attempts(hermetic) == [("add", 1), ("add", 1)]
    assert sorted(p.name for p in hermetic.iterdir()) == before  # the pending file is gone, nothing else new


def test_an_exclusive_lock_fails_reads_in_one_line_and_moves_nothing(passed_once: Path, hermetic: Path) -> None:
    root = passed_once
    listing = sorted(p.name for p in hermetic.iterdir())
    with held(hermetic / DB_NAME, "exclusive"):
        r = run_cli(root, "list", env=FAST)
        assert r.returncode == 1 and r.stdout == ""
        one_clean_line(r.stderr, WAITING, "is held by another program", "nothing was changed")
        assert len(r.stderr.strip().splitlines()) == 2, r.stderr
        r = run_cli(root, "check", "add", env=FAST)  # graded and shown all the same; the record waits
        assert r.returncode == 0 and "✓ add passed" in r.stdout, r.stderr
        one_clean_line(r.stderr, "kept in")
        assert sorted(p.name for p in hermetic.iterdir() if p.name != "pending.jsonl") == listing
    r = run_cli(root, "list", env=FAST)
    one_clean_line(r.stderr, "recorded the attempt at add (passed)")
    assert attempts(hermetic) == [("add", 1), ("add", 1)]


def test_every_state_write_under_a_held_lock_shows_its_result_and_keeps_the_record(
        course_dir: Path, hermetic: Path) -> None:
    add_quiz(course_dir)
    assert run_cli(course_dir, "done", "intro").returncode == 0  # creates the database
    with held(hermetic / DB_NAME):
        for args, shown in ((("hint", "greet"), "Hint 1/3"), (("skip", "spin"), "spin: skipped"),
                            (("quiz", "intro-quiz", "--answers", RIGHT), "intro-quiz passed"),
                            (("done", "intro", "--undo"), "intro: not done")):
            r = run_cli(course_dir, *args, env=FAST)
            assert r.returncode == 0 and shown in r.stdout, (args, r.stdout, r.stderr)
            one_clean_line(r.stderr, "kept in")
    r = run_cli(course_dir, "list", "--json", env=FAST)
    one_clean_line(r.stderr, "recorded 4 records (1 hint, 2 statuses, 1 attempt)")
    items = {i["id"]: i for i in json.loads(r.stdout)["items"]}
    assert items["greet"]["hints_shown"] == 1 and items["spin"]["status"] == "skipped"
    assert items["intro-quiz"]["status"] == "passed" and items["intro"]["status"] is None


def test_a_busy_database_in_process_waits_then_says_so(tmp_path: Path) -> None:
    p = Progress(tmp_path)
    p.set_status("r", "done")
    p.close()
    told: list[str] = []
    with held(tmp_path / DB_NAME, "exclusive"):
        q = Progress(tmp_path, notify=told.append, wait=1.5)
        with pytest.raises(ProgressBusy, match="held by another program"):
            q.states()
        assert told == [WAITING]
        q.set_status("x", "skipped")  # once waited in vain, it does not wait again
        assert told[1].startswith("x marked skipped could not be written") and len(told) == 2
    assert not list(tmp_path.glob("*corrupt*"))
    assert Progress(tmp_path).state("x").status == "skipped"


# -- only proof sets a database aside ------------------------------------------------------------
@pytest.mark.parametrize("error, code", [("database is locked", 5), ("file is not a database", 26),
                                          ("database disk image is malformed", 11), ("disk I/O error", 10)])
def test_an_error_without_proof_of_damage_moves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        error: str, code: int) -> None:
    p = Progress(tmp_path)
    p.record_attempt("a", started=1.0, duration=1.0, passed=1, total=1, ok=True, file_hash=None, outcome="passed")
    p.close()
    real = Progress._connect
    calls = []

    def failing(self: Progress) -> sqlite3.Connection:
        calls.append(1)
        if len(calls) == 1:
            exc = sqlite3.OperationalError(error)
            exc.sqlite_errorcode = code  # type: ignore[attr-defined]
            raise exc
        return real(self)

    monkeypatch.setattr(Progress, "_connect", failing)
    q = Progress(tmp_path, wait=3)
    assert q.state("a").status == "passed"  # a lock passes, and a healthy file is not damaged
    assert not list(tmp_path.glob("*corrupt*")), list(tmp_path.iterdir())


def test_proven_damage_is_set_aside(tmp_path: Path) -> None:
    p = Progress(tmp_path)
    for i in range(200):
        p.record_attempt(f"x{i}", started=i, duration=1, passed=0, total=1, ok=False, file_hash="h" * 60,
                         outcome="failed")
    p.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    p.close()
    data = bytearray((tmp_path / DB_NAME).read_bytes())
    data[4096 * 2:4096 * 3] = b"\xff" * 4096  # a page in the middle, the header intact
    (tmp_path / DB_NAME).write_bytes(bytes(data))
    again = Progress(tmp_path)
    again.states()
    assert again.warnings and "moved to progress.sqlite3.corrupt-" in again.warnings[0]
    assert list(tmp_path.glob(f"{DB_NAME}.corrupt-*"))


# -- a full disk -----------------------------------------------------------------------------------
def test_a_full_database_keeps_the_record_and_the_next_command_writes_it(tmp_path: Path) -> None:
    told: list[str] = []
    p = Progress(tmp_path, notify=told.append)
    p.set_status("r", "done")
    pages = p.conn.execute("PRAGMA page_count").fetchone()[0]
    p.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL from here on, as on a full disk
    for i in range(40):
        p.record_attempt("a", started=float(i), duration=1.0, passed=1, total=1, ok=True, file_hash="h" * 500,
                         outcome="passed")
    kept = [t for t in told if "database or disk is full" in t and "kept in" in t]
    assert kept, told
    p.close()
    told.clear()
    again = Progress(tmp_path, notify=told.append)
    assert len(again.attempts("a")) == 40
    assert told and told[0].startswith("recorded") and not (tmp_path / pending.PENDING_NAME).exists()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB file system of its own (a tmpfs; needs root, skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system that holds `folder` to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_shows_the_verdict_keeps_the_record_elsewhere_and_writes_it_later(
        course_dir: Path, tiny_disk: Path, tmp_path: Path) -> None:
    state = tiny_disk / "state"
    run_env = dict(FAST, RETREAT_HOME=str(state), XDG_STATE_HOME=str(tmp_path / "xdg"))
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add", env=run_env).returncode == 0
    filler = fill(tiny_disk)
    r = run_cli(course_dir, "check", "add", env=run_env)
    assert r.returncode == 0 and "✓ add passed" in r.stdout, r.stderr
    one_clean_line(r.stderr, str(tmp_path / "xdg" / "retreat"))
    assert len(about_progress(r.stderr)) <= 2, r.stderr
    filler.unlink()
    r = run_cli(course_dir, "list", env=run_env)
    assert r.returncode == 0
    one_clean_line(r.stderr, "recorded the attempt at add (passed)")
    assert attempts(state) == [("add", 1), ("add", 1)]
    assert not list((tmp_path / "xdg" / "retreat").glob("pending-*"))


# -- a state folder this user cannot write ---------------------------------------------------------
def without_privileges(cmd: list[str]) -> list[str]:
    """Run `cmd` bound by file permissions: root drops every capability (so a folder that is
    read-only or someone else's is as closed to it as to a learner); anyone else already is."""
    if os.getuid() == 0:
        return ["setpriv", "--bounding-set=-all", "--inh-caps=-all", *cmd]
    return cmd


@pytest.mark.parametrize("how", ["read-only", "someone else's"])
def test_a_state_folder_that_cannot_be_written_keeps_the_pass_and_shows_it(
        course_dir: Path, tmp_path: Path, how: str) -> None:
    if os.getuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root's privileges")
    if how == "someone else's" and os.getuid() != 0:
        pytest.skip("giving a folder to someone else needs root")
    state, xdg = tmp_path / "state", tmp_path / "xdg"
    solve(course_dir, "01_add.py")
    run_env = dict(os.environ, RETREAT_HOME=str(state), XDG_STATE_HOME=str(xdg), **FAST)
    before = Progress(state)
    before.set_status("intro", "done")  # the database as it was, with one record
    before.close()
    if how == "read-only":
        (state / DB_NAME).chmod(0o444)
        state.chmod(0o555)
    else:
        os.chown(state, 65534, 65534)  # nobody's
        os.chown(state / DB_NAME, 65534, 65534)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(without_privileges([sys.executable, "-m", "retreat.cli", *args]), cwd=course_dir,
                              env=run_env, capture_output=True, text=True, timeout=120)

    try:
        r = cli("check", "add")
        assert r.returncode == 0 and "✓ add passed" in r.stdout, (r.stdout, r.stderr)
        one_clean_line(r.stderr, f"kept in {xdg / 'retreat'}")
        assert len(about_progress(r.stderr)) <= 2, r.stderr
        r = cli("list")  # the kept pass counts already, and so does the record from before
        assert r.returncode == 0 and "✓ add" in r.stdout and "12 points" in r.stdout, (r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
    finally:
        state.chmod(0o755)
        (state / DB_NAME).chmod(0o644)
        os.chown(state, os.getuid(), os.getgid())
        os.chown(state / DB_NAME, os.getuid(), os.getgid())
    r = cli("list")  # the folder can be written again: the kept record goes in
    assert r.returncode == 0
    one_clean_line(r.stderr, "recorded the attempt at add (passed)")
    assert attempts(state) == [("add", 1)]
    assert not list((xdg / "retreat").glob("pending-*"))


# -- the files retreat keeps beside the database ---------------------------------------------------
def test_reset_that_cannot_keep_your_version_changes_nothing(course_dir: Path, hermetic: Path) -> None:
    hermetic.mkdir(parents=True, exist_ok=True)
    (hermetic / "backups").write_text("a file where the backups folder goes")
    mine = "def add(a, b):\n    return a + b  # mine\n"
    (course_dir / "exercises/basics/01_add.py").write_text(mine)
    r = run_cli(course_dir, "reset", "add")
    assert r.returncode == 1 and r.stdout == ""
    one_clean_line(r.stderr, "could not be kept", "nothing was reset")
    assert len(r.stderr.strip().splitlines()) == 1
    assert (course_dir / "exercises/basics/01_add.py").read_text() == mine


def test_a_note_that_cannot_be_written_is_one_line(course_dir: Path) -> None:
    (course_dir / "journal").write_text("a file where the journal folder goes")
    r = run_cli(course_dir, "note", "add", "--print")
    assert r.returncode == 1
    one_clean_line(r.stderr, "journal")
    assert len(r.stderr.strip().splitlines()) == 1


# -- the pending file itself -----------------------------------------------------------------------
def _attempt(item: str, started: float) -> dict:
    return {"op": "attempt", "item": item, "started": started, "duration": 1.0, "passed": 1, "total": 1,
            "ok": True, "file_hash": None, "outcome": "passed", "unofficial": None}


def test_a_record_written_twice_counts_once(tmp_path: Path) -> None:
    """A command that dies after writing the kept records but before deleting their file must not
    make the next one write them again."""
    records = [_attempt("a", 1.0), {"op": "status", "item": "r", "status": "done", "at": 5.0},
               {"op": "hints", "item": "a", "shown": 2}]
    for record in records:
        pending.keep(tmp_path, record)
    Progress(tmp_path).states()
    for record in records:  # the same records once more
        pending.keep(tmp_path, record)
    pending.keep(tmp_path, {"op": "status", "item": "r", "status": "skipped", "at": 1.0})  # older: ignored
    p = Progress(tmp_path)
    states = p.states()
    assert len(p.attempts("a")) == 1 and states["a"].hints_shown == 2 and states["r"].status == "done"


def test_two_commands_opening_at_once_write_each_kept_record_once(tmp_path: Path) -> None:
    for i in range(30):
        pending.keep(tmp_path, _attempt("a", float(i)))
    Progress(tmp_path).close()  # the database exists; the records are still pending
    code = ("import sys; from pathlib import Path; from retreat.learner.progress import Progress;"
            "Progress(Path(sys.argv[1])).states()")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    assert len(Progress(tmp_path).attempts("a")) == 30


def test_pending_lines_that_are_no_record_are_kept_aside_and_the_rest_is_written(tmp_path: Path) -> None:
    unknown = {"op": "teleport", "item": "a"}  # from a newer retreat, say
    incomplete = {"op": "status", "item": "b"}
    (tmp_path / pending.PENDING_NAME).write_text("\n".join(
        [json.dumps(_attempt("a", 1.0)), "not json", '{"op": 3}', json.dumps(unknown), json.dumps(incomplete)]) + "\n")
    told: list[str] = []
    p = Progress(tmp_path, notify=told.append)
    assert len(p.attempts("a")) == 1
    aside = tmp_path / (pending.PENDING_NAME + ".unreadable")
    assert any(f"4 line(s) of {tmp_path / pending.PENDING_NAME} are not records" in t for t in told), told
    assert len(aside.read_text().splitlines()) == 4 and not (tmp_path / pending.PENDING_NAME).exists()
    told.clear()
    Progress(tmp_path, notify=told.append).states()  # nothing is tried again
    assert told == []


def test_when_the_state_folder_cannot_be_written_records_go_outside_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    state = tmp_path / "state"
    state.write_text("a file where the state folder goes: nothing can be written under it")
    told: list[str] = []
    p = Progress(state, notify=told.append)
    p.record_attempt("a", started=1.0, duration=1.0, passed=1, total=1, ok=True, file_hash=None, outcome="passed")
    assert p.state("a").status == "passed"  # this command sees its own record
    kept = list((tmp_path / "xdg" / "retreat").glob("pending-*.jsonl"))
    assert len(kept) == 1 and any(str(kept[0]) in t for t in told), told
    state.unlink()
    assert Progress(state).state("a").status == "passed"
    assert not list((tmp_path / "xdg" / "retreat").glob("pending-*.jsonl"))


def test_a_long_command_writes_what_it_kept_once_the_database_is_free(tmp_path: Path) -> None:
    """`retreat watch` keeps one Progress open for the whole session: a record kept while another
    program held the database goes in with the next record written after it is free."""
    told: list[str] = []
    p = Progress(tmp_path, notify=told.append, wait=0.5)
    p.set_status("r", "done")
    with held(tmp_path / DB_NAME):
        p.record_attempt("a", started=1.0, duration=1.0, passed=0, total=1, ok=False, file_hash=None,
                         outcome="failed")
    assert any("kept in" in t for t in told) and len(p.attempts("a")) == 0
    p.record_attempt("a", started=2.0, duration=1.0, passed=1, total=1, ok=True, file_hash=None, outcome="passed")
    assert [a.outcome for a in p.attempts("a")] == ["failed", "passed"]  # in the order they started
    assert told[-1].startswith("recorded the attempt at a (failed)") and not (tmp_path / pending.PENDING_NAME).exists()


def test_a_review_that_cannot_write_its_scratch_file_is_one_line(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    (hermetic / "review").write_text("a file where the review folder goes")
    r = run_cli(course_dir, "review", "add")
    assert r.returncode == 1 and r.stdout == ""
    one_clean_line(r.stderr, "cannot write the review file")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
