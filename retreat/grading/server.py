"""The grading server: one long-lived process per course (and state folder) that keeps torch,
pytest and our plugin imported and forks one sandboxed child per check (worker.py).

The first command that grades starts it (client.py); it double-forks into its own session, writes
its output to `<state>/server/server.log`, holds `<state>/server/lock` for its whole life (so one
runs per course) and listens on an owner-only Unix socket, bound only once everything is
imported, so a connection that succeeds is answered at once. Each connection gets a thread and
each check a fork, so two shells (or dev check's parallel runs) check at once.

What a check keeps from a cold one: its clean environment (made by the client, child.py), and
the same supervisor (child.supervise_fork, supervisor.py), which runs the check in a fork of its
own with the memory and CPU limits, a safe path and death with its parent, enforces the time limit
even if the server is stopped, and kills every descendant at the end; the runner then reads the
complete report as for a cold run. The server waits for the supervisor (and ends it when the
client goes away, or when it is itself stuck), and is a subreaper too: anything that escapes a
killed supervisor comes back to the server and is killed once no check is running. A connection
from the server's own descendants (graded code) is refused.

It exits after an idle period ($RETREAT_SERVER_IDLE, default 15 minutes), when asked
(`retreat server stop`, SIGTERM), or when a client's identity differs from its own (another
engine version or code, Python, torch or pytest: a `pip install -U` never leaves a stale server);
it lets go of its socket and lock first, so a new server can start while it ends.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from retreat.files import atomic_write
from retreat.grading import client, worker
from retreat.grading.child import SUPERVISOR_GRACE, Tail, drain, kill_group, read_status
from retreat.grading.client import Place, send

_PR_SET_CHILD_SUBREAPER = 36


def log(text: str) -> None:
    """One line in the server's log (a raw write: no stream lock a fork could inherit held)."""
    try:
        os.write(2, f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {text}\n".encode())
    except OSError:
        pass


class Server:
    def __init__(self, where: Place, course: Path, state: Path, idle: float, lock_fd: int) -> None:
        self.place, self.course, self.state, self.idle = where, course, state, idle
        self.lock_fd = lock_fd
        self.identity: dict[str, str] = {}
        self.started = time.time()
        self.last_used = time.monotonic()
        self.served = 0
        self.connections = 0
        self.running: dict[int, float] = {}  # pid of a check's supervisor -> when it started
        self.lock = threading.Lock()  # guards the counters above, forks and the orphan sweep
        self.stopping = threading.Event()
        self.terminated = threading.Event()
        self.listener: socket.socket | None = None
        self.socket_id: tuple[int, int] | None = None
        self.sweep_until = 0.0

    # -- life

    def serve(self) -> None:
        # The handler only flags: the accept loop below stops (a handler that took a lock the
        # interrupted main thread holds would deadlock).
        signal.signal(signal.SIGTERM, lambda *_: self.terminated.set())
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _become_subreaper()
        # Taken before anything else is imported: the engine code this server runs is what was on
        # disk when it started, and the client that started it read the same a moment before.
        self.identity = client.identity()
        worker.preload(self.place.cache)
        worker.prune_cache(self.place.cache)
        self.listener = self._bind()
        self._write_info("ready")
        log(f"ready: {self.place.socket} (torch {self.identity['torch']}, pytest {self.identity['pytest']})")
        threading.Thread(target=self._idle_loop, daemon=True).start()
        self.listener.settimeout(0.25)
        while not self.stopping.is_set():
            if self.terminated.is_set():
                self.shutdown("terminated", end_checks=True)
                break
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            conn.settimeout(None)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.listener.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # checks already started end first (each has a time limit)
            with self.lock:
                if not self.running and not self.connections:
                    break
            time.sleep(0.05)
        log("exited")

    def _bind(self) -> socket.socket:
        """Listen on the socket, created owner-only under a temporary name and renamed into place
        only when listening (a dead server's socket is replaced in the same step)."""
        final = self.place.socket
        tmp = final.with_name(f"{final.name}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(str(tmp))
        finally:
            os.umask(old)
        os.chmod(tmp, 0o600)
        listener.listen(64)
        os.rename(tmp, final)
        st = os.stat(final)
        self.socket_id = (st.st_dev, st.st_ino)
        return listener

    def _write_info(self, state: str) -> None:
        write_info(self.place, os.getpid(), state, self.course, self.started, self.identity)

    def shutdown(self, why: str, end_checks: bool = False) -> None:
        """Stop taking checks: let go of the socket, the info file and the lock now (a new server
        may start at once); with `end_checks`, kill the running checks too."""
        with self.lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
            running = list(self.running)
        log(f"stopping: {why}")
        try:
            st = os.stat(self.place.socket)
            if (st.st_dev, st.st_ino) == self.socket_id:
                os.unlink(self.place.socket)
        except OSError:
            pass
        try:
            if json.loads(self.place.info.read_text()).get("pid") == os.getpid():
                self.place.info.unlink()
        except (OSError, ValueError, AttributeError):
            pass
        os.close(self.lock_fd)
        if end_checks:  # each supervisor ends its check and everything the check started
            for pid in running:
                _signal(pid, signal.SIGTERM)

    def _idle_loop(self) -> None:
        while not self.stopping.wait(min(1.0, self.idle / 4)):
            with self.lock:
                busy = bool(self.running or self.connections)
                idle_for = time.monotonic() - self.last_used
            if not busy and time.monotonic() < self.sweep_until:
                self._sweep_orphans()
            if not busy and idle_for > self.idle:
                self.shutdown(f"idle for {idle_for:.0f} s")

    # -- one connection

    def _handle(self, conn: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        try:
            refused = self._refuse(conn)
            if refused:
                log(f"refused a connection: {refused}")
                return
            send(conn, {"hello": client.PROTOCOL, "pid": os.getpid()})
            reader = client.LineReader(conn)
            line = reader.readline(client.ANSWER_TIMEOUT)
            if not line:
                return
            try:
                request = client.parse(line)
            except ValueError:
                send(conn, {"error": "a request must be one JSON object"})
                return
            op = request.get("op")
            if op == "run":
                self._run(conn, request)
            elif op == "status":
                send(conn, self.status())
            elif op == "stop":
                send(conn, {"stopping": os.getpid()})
                self.shutdown("asked to stop", end_checks=True)
            else:
                send(conn, {"error": f"unknown request {op!r}"})
        except (OSError, ValueError) as exc:
            log(f"connection ended: {exc}")
        finally:
            conn.close()
            with self.lock:
                self.connections -= 1
                self.last_used = time.monotonic()

    def _refuse(self, conn: socket.socket) -> str | None:
        """Why a peer may not talk to the server: another user, or a process the server started
        (graded code, or anything it spawned: it must not reach the channel its verdict is on)."""
        try:
            pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        except OSError:
            return "no peer credentials"
        if uid != os.getuid():
            return f"uid {uid}"
        me, seen = os.getpid(), 0
        while pid > 1 and seen < 256:
            if pid == me:
                return "a process started by a check"
            pid, seen = _parent(pid), seen + 1
        return None

    def status(self) -> dict[str, Any]:
        with self.lock:
            running, idle_for = len(self.running), time.monotonic() - self.last_used
        return {"pid": os.getpid(), "started": self.started, "uptime": time.time() - self.started,
                "socket": str(self.place.socket), "course": str(self.course), "log": str(self.place.log),
                "identity": self.identity, "served": self.served, "running": running,
                "idle_timeout": self.idle, "idle_for": idle_for}

    # -- one check

    def _run(self, conn: socket.socket, request: dict[str, Any]) -> None:
        theirs = request.get("identity")
        if self.stopping.is_set():
            send(conn, {"stale": "stopping", "pid": os.getpid()})
            return
        if theirs != self.identity:
            theirs = theirs if isinstance(theirs, dict) else {}
            same_interpreter = all(theirs.get(k) == self.identity[k] for k in ("python", "env"))
            if same_interpreter and client.identity(fresh=True) == self.identity:
                # The installed engine is the one this server runs: the client is the stale one
                # (a watch started before an upgrade). It checks cold; the server stays.
                send(conn, {"older": client.describe_difference(self.identity, theirs)})
                return
            why = client.describe_difference(theirs, self.identity)
            self.shutdown(f"a client differs: {why}")  # lets go of the socket before the client hears
            send(conn, {"stale": why, "pid": os.getpid()})
            return
        job = _job(request)
        if job is None:
            send(conn, {"error": "a malformed check"})
            return
        args, env, cwd, timeout, limits = job
        worker.prepare_pytest(args)
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            with self.lock:
                pid = worker.fork_check(args, env, cwd, timeout, limits, out_w, status_w,
                                        detach=(self.listener, conn))
                self.running[pid] = time.monotonic()
                self.served += 1
        finally:
            os.close(out_w)
            os.close(status_w)
        try:
            send(conn, {"pid": pid})
            code, timed_out, tail = self._wait(pid, out_r, status_r, timeout, conn)
        except BaseException:
            _end(pid)
            raise
        finally:
            with self.lock:
                self.running.pop(pid, None)
                if not self.running:
                    self.sweep_until = time.monotonic() + 5
            self._sweep_orphans()
        send(conn, {"exit": code, "timed_out": timed_out, "tail": tail})

    def _wait(self, pid: int, out_fd: int, status_fd: int, timeout: float,
              conn: socket.socket) -> tuple[int | None, bool, str]:
        """Wait for a check's supervisor, which ends the check on time and kills what it left; cancel
        the check (SIGTERM to the supervisor) when the client goes away, and end a supervisor that
        is itself stuck. Returns (exit code or None, timed out, output tail), as run_supervised does."""
        tail = Tail()
        reader = threading.Thread(target=_drain_fd, args=(out_fd, tail), daemon=True)
        reader.start()
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None  # an old kernel: poll instead
        limit = time.monotonic() + timeout + SUPERVISOR_GRACE
        stuck = False
        watch_client = True
        status = None
        try:
            while status is None:
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    if stuck:
                        break
                    stuck = True  # the supervisor did not end the check in time: end it
                    _signal(pid, signal.SIGTERM)
                    limit = time.monotonic() + 5
                    continue
                fds: list[Any] = ([pidfd] if pidfd is not None else []) + ([conn] if watch_client else [])
                ready, _, _ = select.select(fds, [], [], remaining if pidfd is not None else min(remaining, 0.02))
                if pidfd is None or pidfd in ready:
                    done, st = os.waitpid(pid, os.WNOHANG)
                    if done:
                        status = st
                if conn in ready:
                    try:
                        data = conn.recv(4096)
                    except OSError:
                        data = b""
                    if not data:  # the client went away (killed, Ctrl-C): nobody wants this check
                        watch_client = False
                        _signal(pid, signal.SIGTERM)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        if status is None:
            _end(pid)
        result = read_status(status_fd)
        reader.join(timeout=2)
        if stuck:
            return None, True, tail.text()
        if result is None:  # the supervisor died, or the check was cancelled: it did not finish
            code = os.waitstatus_to_exitcode(status) if status is not None else -signal.SIGKILL
            return (code if code < 0 else -signal.SIGKILL), False, tail.text()
        return result[0], result[1], tail.text()

    def _sweep_orphans(self) -> None:
        """Kill and reap processes that escaped a check's group and came back to the server (it is
        their subreaper), once no check is running."""
        me = os.getpid()
        with self.lock:
            if self.running:
                return
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                pid = int(entry.name)
                if pid != me and _parent(pid) == me:
                    kill_group(pid)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass


def _drain_fd(fd: int, tail: Tail) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        drain(pipe, tail)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _end(pid: int) -> None:
    """End a check's supervisor that would not end: SIGKILL (its check dies with it) and reap it."""
    _signal(pid, signal.SIGKILL)
    kill_group(pid)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _job(request: dict[str, Any]) -> tuple[list[str], dict[str, str], str, float, dict[int, int]] | None:
    """A run request's (args, environment, folder, time limit, resource limits), or None if malformed."""
    args, env, cwd, timeout, limits = (request.get(k) for k in ("args", "env", "cwd", "timeout", "limits"))
    if not (isinstance(args, list) and all(isinstance(a, str) for a in args) and isinstance(env, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
            and isinstance(cwd, str) and isinstance(timeout, int | float) and timeout > 0
            and isinstance(limits, dict) and all(k.isdigit() and isinstance(v, int) for k, v in limits.items())):
        return None
    return args, env, cwd, float(timeout), {int(k): v for k, v in limits.items()}


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1)
    except (OSError, AttributeError):
        pass


def write_info(where: Place, pid: int, state: str, course: Path, started: float, ident: dict[str, str]) -> None:
    atomic_write(where.info, json.dumps({"pid": pid, "state": state, "socket": str(where.socket),
                                         "course": str(course), "started": started, "identity": ident}))
    os.chmod(where.info, 0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="retreat.grading.server")
    parser.add_argument("--course", required=True, type=Path)
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--idle", type=float, default=900.0)
    opts = parser.parse_args(argv)
    where = client.place(opts.state, opts.course)
    lock_fd = os.open(where.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another server holds the lock; this one is not needed")
        return 3
    pid = os.fork()
    if pid > 0:  # the first fork's parent: say who the server is, and go (the client reaps it)
        write_info(where, pid, "starting", opts.course, time.time(), {})
        os._exit(0)
    os.chdir(where.folder)
    server = Server(where, opts.course, opts.state, opts.idle, lock_fd)
    try:
        server.serve()
    except Exception as exc:  # the log says why; the client falls back to a cold child
        log(f"failed: {type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
