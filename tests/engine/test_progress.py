"""The learner's record survives corruption, concurrency and a kill in mid-check."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine_helpers import run_cli, solve

from retreat.learner.progress import DB_NAME, Progress


def test_attempts_and_statuses_round_trip(tmp_path: Path) -> None:
    p = Progress(tmp_path)
    p.record_attempt("a", started=1.0, duration=0.5, passed=1, total=3, ok=False, file_hash="h1", outcome="failed")
    p.record_attempt("a", started=2.0, duration=0.5, passed=3, total=3, ok=True, file_hash="h2", outcome="passed")
    p.set_status("r", "done")
    states = p.states()
    assert states["a"].status == "passed" and states["a"].attempts == 2 and states["a"].best_passed == 3
    assert states["r"].status == "done"
    assert [a.file_hash for a in p.attempts("a")] == ["h1", "h2"]


def test_corrupt_database_is_set_aside_and_rebuilt(course_dir: Path, hermetic: Path) -> None:
    hermetic.mkdir(parents=True, exist_ok=True)
    (hermetic / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    r = run_cli(course_dir, "list")
    assert r.returncode == 0, r.stderr
    assert "warning: the progress database could not be read" in r.stderr
    backups = list(hermetic.glob(f"{DB_NAME}.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes().startswith(b"this is not sqlite")


def test_truncated_database_is_set_aside(tmp_path: Path) -> None:
    p = Progress(tmp_path)
    for i in range(50):
        p.record_attempt(f"x{i}", started=i, duration=1, passed=0, total=1, ok=False, file_hash=None, outcome="f")
    p.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    p.close()
    data = (tmp_path / DB_NAME).read_bytes()
    (tmp_path / DB_NAME).write_bytes(data[: len(data) // 2])
    again = Progress(tmp_path)
    again.states()
    assert again.warnings and list(tmp_path.glob(f"{DB_NAME}.corrupt-*"))


def _hammer(state_dir: str, name: str, n: int) -> None:
    p = Progress(Path(state_dir))
    for i in range(n):
        p.record_attempt(name, started=time.time(), duration=0.0, passed=i, total=n, ok=False,
                         file_hash=None, outcome="failed")
        p.next_hint(name, 100)


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), name, 60)) for name in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    states = Progress(tmp_path).states()
    assert states["a"].attempts == 60 and states["b"].attempts == 60
    assert states["a"].hints_shown == 60 and states["b"].hints_shown == 60


def test_two_concurrent_checks_record_both_attempts(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    procs = [subprocess.Popen([sys.executable, "-m", "retreat.cli", "check", item], cwd=course_dir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for item in ("add", "greet")]
    codes = [p.wait(90) for p in procs]
    assert codes == [0, 1]
    rows = sqlite3.connect(hermetic / DB_NAME).execute("SELECT item, ok FROM attempts ORDER BY item").fetchall()
    assert rows == [("add", 1), ("greet", 0)]


def test_kill_in_mid_check_leaves_a_consistent_database(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    (course_dir / "exercises/basics/03_spin.py").write_text("while True:\n    pass\n")
    proc = subprocess.Popen([sys.executable, "-m", "retreat.cli", "check", "spin"], cwd=course_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(2.5)  # the child is importing or spinning
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    db = sqlite3.connect(hermetic / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT item, ok FROM attempts").fetchall() == [("add", 1)]
    r = run_cli(course_dir, "list")
    assert r.returncode == 0 and "✓ add" in r.stdout
    # The check the killed command had started dies with it: nothing is left spinning.
    deadline = time.monotonic() + 10
    while _checks_running(course_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _checks_running(course_dir), "the grading child outlived the killed retreat check"


def _checks_running(course_dir: Path) -> list[int]:
    """Live (not zombie) processes whose command line names this course's spin test."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if str(course_dir / "tests/basics/test_spin.py") in cmdline and state != "Z":
            found.append(int(proc.name))
    return found
