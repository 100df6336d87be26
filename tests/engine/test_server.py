"""The grading server (retreat/grading/server.py and client.py): started by the first check, reused by
the next, owner-only, replaced when it is stale, dead or wedged (the check then runs cold, with one
line), and out of reach of the code it grades. The reliability promises themselves (a hang, a crash,
an exit, a segfault) are tested through the server and cold in test_grading.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from engine_helpers import grading_servers, run_cli, solve

import retreat.env as env
from retreat.course import Course
from retreat.grading import client as client_module
from retreat.grading.client import PROTOCOL, client_for, identity, place
from retreat.grading.runner import Job
from retreat.grading.service import run


def _run(root: Path, item: str):
    course = Course(root)
    return run(course, Job(course.exercise(item)))


def _status(root: Path, state: Path) -> dict | None:
    return client_for(root, state).status()


def _wait_for(predicate, timeout: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _write(root: Path, name: str, body: str) -> None:
    (root / "exercises/basics" / name).write_text(body)


def test_the_first_check_starts_an_owner_only_server_the_next_ones_reuse(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    assert _run(course_dir, "add").ok
    first = _status(course_dir, hermetic)
    assert first is not None and first["served"] == 1
    assert _run(course_dir, "add").ok
    second = _status(course_dir, hermetic)
    assert second["pid"] == first["pid"] and second["served"] == 2
    where = place(hermetic, course_dir)
    assert stat.S_IMODE(os.stat(where.folder).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(where.socket).st_mode) and stat.S_IMODE(os.stat(where.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(where.info).st_mode) == 0o600
    assert second["identity"] == identity()
    assert grading_servers(hermetic) == [first["pid"]]


def test_a_long_state_path_gets_a_short_owner_only_socket(course_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / ("s" * 70) / ("t" * 70)
    monkeypatch.setenv(env.HOME, str(state))
    where = place(state, course_dir)
    assert len(os.fsencode(where.socket)) <= 100 and not str(where.socket).startswith(str(state))
    assert stat.S_IMODE(os.stat(where.socket.parent).st_mode) == 0o700
    assert os.stat(where.socket.parent).st_uid == os.getuid()
    solve(course_dir, "01_add.py")
    assert _run(course_dir, "add").ok
    assert stat.S_IMODE(os.stat(where.socket).st_mode) == 0o600
    other = place(tmp_path / ("u" * 70) / ("v" * 70), course_dir)
    assert other.socket != where.socket, "another state folder gets another socket"


def test_server_status_and_stop_on_the_command_line(course_dir: Path, hermetic: Path) -> None:
    assert "no grading server is running" in run_cli(course_dir, "server", "status").stdout
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    r = run_cli(course_dir, "server", "status")
    pid = grading_servers(hermetic)[0]
    assert r.returncode == 0 and f"grading server pid {pid}" in r.stdout and "1 checks served" in r.stdout, r.stdout
    assert "socket:" in r.stdout and "torch" in r.stdout and "pytest" in r.stdout
    data = json.loads(run_cli(course_dir, "server", "status", "--json").stdout)
    assert data["pid"] == pid and data["served"] == 1 and data["uptime"] > 0
    r = run_cli(course_dir, "server", "stop")
    assert r.returncode == 0 and f"stopped grading server {pid}" in r.stdout
    assert not grading_servers(hermetic)
    assert not place(hermetic, course_dir).socket.exists()
    assert "no grading server was running" in run_cli(course_dir, "server", "stop").stdout


def test_an_idle_server_exits_by_itself(course_dir: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.SERVER_IDLE, "1")
    solve(course_dir, "01_add.py")
    assert _run(course_dir, "add").ok
    assert grading_servers(hermetic)
    _wait_for(lambda: not grading_servers(hermetic), 30, "the idle server's exit")
    where = place(hermetic, course_dir)
    assert not where.socket.exists() and not where.info.exists()
    assert "stopping: idle for" in where.log.read_text()


def test_a_client_of_another_start_up_environment_or_version_replaces_the_server(
        course_dir: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    old = grading_servers(hermetic)
    # OMP_NUM_THREADS is read when torch starts: a server started without it would grade differently.
    r = run_cli(course_dir, "check", "add", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0 and "add passed" in r.stdout and "Traceback" not in r.stderr, r.stdout + r.stderr
    new = grading_servers(hermetic)
    assert len(old) == len(new) == 1 and new != old
    assert not _alive(old[0]), "the stale server exited"
    assert "stopping: a client differs: env" in place(hermetic, course_dir).log.read_text()


def test_the_identity_names_what_a_server_must_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ident = identity()
    assert set(ident) == {"protocol", "engine", "code", "python", "torch", "pytest", "env"}
    assert ident["torch"].startswith("2.") and ident["pytest"][0].isdigit()
    # The code hash follows the engine's source: an edited (or reinstalled) engine gets a new server.
    import shutil

    import retreat

    copy = tmp_path / "retreat"
    shutil.copytree(Path(retreat.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(retreat, "__file__", str(copy / "__init__.py"))
    before = client_module._code_hash()
    (copy / "grading" / "runner.py").write_text((copy / "grading" / "runner.py").read_text() + "\n# edited\n")
    assert client_module._code_hash() != before


def test_a_kill_9_of_the_server_in_mid_check_is_a_cold_check_and_one_record(course_dir: Path, hermetic: Path,
                                                                              tmp_path: Path) -> None:
    marker = tmp_path / "pids"
    _write(course_dir, "01_add.py", "import os, time\n"
                                    f"with open({str(marker)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n"
                                    "time.sleep(3)\n\ndef add(a, b):\n    return a + b\n")
    run_cli(course_dir, "check", "greet")  # starts the server
    server = grading_servers(hermetic)
    proc = subprocess.Popen([sys.executable, "-m", "retreat.cli", "check", "add"], cwd=course_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(marker.exists, 60, "the check's start")
    os.kill(server[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "add passed" in out, out + err
    assert "the grading server stopped during the check; checking again without it" in err
    assert "Traceback" not in out + err
    first = int(marker.read_text().split()[0])
    _wait_for(lambda: not _alive(first), 10, "the end of the check the server was running")
    db = sqlite3.connect(hermetic / "progress.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT item, ok FROM attempts WHERE item = 'add'").fetchall() == [("add", 1)]


def test_a_kill_9_of_the_client_in_mid_check_ends_its_check_and_keeps_the_server(
        course_dir: Path, hermetic: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    _write(course_dir, "01_add.py", "import os, subprocess, sys, time\n"
                                    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
                                    f"open({str(marker)!r}, 'w').write(f'{{os.getpid()}} {{p.pid}}')\n"
                                    "time.sleep(600)\n")
    run_cli(course_dir, "check", "greet")
    server = grading_servers(hermetic)
    proc = subprocess.Popen([sys.executable, "-m", "retreat.cli", "check", "add"], cwd=course_dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: marker.exists() and len(marker.read_text().split()) == 2, 60, "the check's start")
    proc.kill()
    proc.wait(10)
    for pid in map(int, marker.read_text().split()):
        _wait_for(lambda pid=pid: not _alive(pid), 15, f"the end of process {pid} of the abandoned check")
    assert grading_servers(hermetic) == server, "the server itself goes on"
    solve(course_dir, "01_add.py")
    assert run_cli(course_dir, "check", "add").returncode == 0
    assert _status(course_dir, hermetic)["served"] == 3
    db = sqlite3.connect(hermetic / "progress.sqlite3")
    assert db.execute("SELECT item, ok FROM attempts WHERE item = 'add'").fetchall() == [("add", 1)]


def test_a_wedged_server_is_replaced_and_the_check_runs_cold(course_dir: Path, hermetic: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capfd: pytest.CaptureFixture) -> None:
    solve(course_dir, "01_add.py")
    assert _run(course_dir, "add").ok
    (wedged,) = grading_servers(hermetic)
    os.kill(wedged, signal.SIGSTOP)
    monkeypatch.setattr(client_module, "ANSWER_TIMEOUT", 1.0)
    v = _run(course_dir, "add")
    assert v.ok, v
    err = capfd.readouterr().err
    assert "the grading server was not answering and was stopped; checking without it" in err
    _wait_for(lambda: not _alive(wedged), 10, "the wedged server's end")
    assert _run(course_dir, "add").ok  # the next check starts a new server
    (fresh,) = grading_servers(hermetic)
    assert fresh != wedged


def test_graded_code_cannot_reach_the_server_or_the_channel_of_its_verdict(course_dir: Path, hermetic: Path,
                                                                          tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    info = place(hermetic, course_dir).info
    forged = json.dumps({"exit": 0, "timed_out": False, "tail": ""}) + "\n"
    _write(course_dir, "01_add.py", f"""import json, os, socket
fds = {{}}
for name in os.listdir('/proc/self/fd'):
    try:
        fds[name] = os.readlink('/proc/self/fd/' + name)
    except OSError:
        pass
for fd in range(3, 256):  # a forged "every test passed" on whatever is open
    try:
        os.write(fd, {forged!r}.encode())
    except OSError:
        pass
answer = None
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(json.load(open({str(info)!r}))['socket'])
    s.sendall(b'{{"op": "stop"}}\\n')
    s.settimeout(5)
    answer = s.recv(1000).decode()
except OSError as exc:
    answer = repr(exc)
json.dump({{'fds': fds, 'answer': answer}}, open({str(seen)!r}, 'w'))


def add(a, b):
    return a - b
""")
    assert not _run(course_dir, "add").ok  # starts the server
    v = _run(course_dir, "add")
    assert not v.ok and v.passed == 0, v
    data = json.loads(seen.read_text())
    assert not any(t.startswith("socket:") for t in data["fds"].values()), data["fds"]
    assert '"hello"' not in data["answer"], "the server greeted graded code"
    assert "refused a connection: a process started by a check" in place(hermetic, course_dir).log.read_text()
    assert grading_servers(hermetic), "the graded code could not stop the server"


class FakeServer:
    """A socket where the course's server would be, answering with `replies` (one per line read)."""

    def __init__(self, path: Path, replies: list[bytes]) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.replies = replies
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                for reply in self.replies:
                    conn.sendall(reply)
                    if reply.startswith(b'{"hello"'):
                        conn.recv(1 << 20)

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("garbage", [b"this is not json\n", b'{"pid": 99999999}\nnot json either\n',
                                     b'{"pid": 99999999}\n{"exit": "zero"}\n', b"[1, 2]\n"])
def test_garbage_on_the_channel_fails_that_check_in_one_line(course_dir: Path, hermetic: Path, garbage: bytes,
                                                             capfd: pytest.CaptureFixture) -> None:
    solve(course_dir, "01_add.py")
    fake = FakeServer(place(hermetic, course_dir).socket, [json.dumps({"hello": PROTOCOL}).encode() + b"\n", garbage])
    try:
        v = _run(course_dir, "add")
    finally:
        fake.close()
    assert not v.ok and v.problem_kind == "crashed", v
    assert "answer was not understood" in v.problem and "\n" not in v.problem
    assert "Traceback" not in capfd.readouterr().err


def test_a_garbage_greeting_is_a_cold_check(course_dir: Path, hermetic: Path, capfd: pytest.CaptureFixture) -> None:
    solve(course_dir, "01_add.py")
    fake = FakeServer(place(hermetic, course_dir).socket, [b"\x00\xff garbage\n"])
    try:
        v = _run(course_dir, "add")
    finally:
        fake.close()
    assert v.ok, v
    assert "the grading server answered garbage and was stopped; checking without it" in capfd.readouterr().err


def test_two_checks_at_once_run_side_by_side_on_one_server(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    solve(course_dir, "02_greet.py")
    results: dict[str, object] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, _run(course_dir, i)))
               for i in ("add", "greet")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(v.ok for v in results.values()) and len(results) == 2, results
    assert len(grading_servers(hermetic)) == 1 and _status(course_dir, hermetic)["served"] == 2


def test_cold_option_and_variable_bypass_the_server(course_dir: Path, hermetic: Path) -> None:
    solve(course_dir, "01_add.py")
    r = run_cli(course_dir, "check", "add", "--cold")
    assert r.returncode == 0 and "add passed" in r.stdout, r.stdout + r.stderr
    r = run_cli(course_dir, "check", "add", env={env.COLD: "1"})
    assert r.returncode == 0 and "add passed" in r.stdout
    assert not grading_servers(hermetic)


def test_a_server_that_cannot_start_is_a_cold_check(course_dir: Path, hermetic: Path) -> None:
    hermetic.mkdir(parents=True, exist_ok=True)
    (hermetic / "server").write_text("a file where the server's folder would be")
    solve(course_dir, "01_add.py")
    r = run_cli(course_dir, "check", "add")
    assert r.returncode == 0 and "add passed" in r.stdout, r.stdout + r.stderr
    assert "for the grading server" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_client_older_than_the_installed_engine_checks_cold_and_leaves_the_server(
        course_dir: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture) -> None:
    solve(course_dir, "01_add.py")
    assert _run(course_dir, "add").ok
    server = grading_servers(hermetic)
    # A `retreat watch` started before an upgrade: its code is not the code installed now.
    monkeypatch.setattr(client_module, "_identity", dict(identity(), code="0123456789abcdef"))
    assert _run(course_dir, "add").ok
    assert "runs an older engine than the one installed" in capfd.readouterr().err
    assert grading_servers(hermetic) == server, "the current server stays"


def test_a_check_on_the_server_imports_only_the_course_s_own_modules(course_dir: Path, tmp_path: Path) -> None:
    seen = tmp_path / "imported.json"
    _write(course_dir, "01_add.py", "import json, sys\nfrom retreat.grading import worker\n"
                                    "new = sorted(set(sys.modules) - worker.inherited_modules)\n"
                                    f"json.dump(new, open({str(seen)!r}, 'w'))\n\ndef add(a, b):\n    return a + b\n")
    assert _run(course_dir, "add").ok
    imported = json.loads(seen.read_text())
    assert imported and all(m.startswith(("retreat_course.", "tests")) for m in imported), imported


def test_the_retreat_script_and_python_m_share_one_server(course_dir: Path, hermetic: Path) -> None:
    """The console script starts the venv's python3, `python -m retreat.cli` its python: one interpreter."""
    other = Path(sys.executable).with_name("python3" if Path(sys.executable).name != "python3" else "python")
    if not other.exists():
        pytest.skip(f"no {other.name} beside {sys.executable}")
    solve(course_dir, "01_add.py")
    first = subprocess.run([str(other), "-m", "retreat.cli", "check", "add"], cwd=course_dir, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    server = grading_servers(hermetic)
    r = run_cli(course_dir, "check", "add")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert grading_servers(hermetic) == server and _status(course_dir, hermetic)["served"] == 2
