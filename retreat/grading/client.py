"""How a command reaches its course's grading server (server.py), starting it when needed.

Where a server lives: `<state>/server/` (mode 0700) holds its lock, its info file, its log and
its cache of rewritten test modules; its socket (mode 0600) is `<state>/server/sock`, or, when
that path is too long for a Unix socket (108 bytes), a short one in an owner-only folder under
$XDG_RUNTIME_DIR or /tmp named by a hash of the course and state folders.

A run: connect (starting a server when none answers, double-forked into its own session with
its output in the log), read the server's hello, send the job (the client's identity, pytest's
arguments, the child's environment, folder and time limit), read the child's pid, then its end.
The client enforces the time limit too (it kills the child's process group itself when the
server does not), so a stopped or wedged server cannot stretch a check. A server that is not
there, does not start, does not answer or dies in mid-check raises ServerUnavailable, and the
caller grades in a cold child instead; an answer that is not one raises WorkerDied, a failing
verdict. A server of another engine, Python, torch or pytest (or engine code) answers "stale"
and exits; the client starts a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import retreat
import retreat.env as retreat_env
from retreat.grading.child import SUPERVISOR_GRACE, clean_environ, limits_for
from retreat.grading.worker import WorkerDied

PROTOCOL = 1
START_TIMEOUT = 90.0
"""How long a new server may take to import torch and pytest (a busy two-core machine is slow)."""
ANSWER_TIMEOUT = 10.0
"""A running server greets a connection and answers a request within this, or it is wedged."""
GRACE = 5.0
"""How long past the time limit the client waits for the server to end a check before doing it itself."""
MAX_LINE = 64 * 1024 * 1024
_SUN_PATH_MAX = 107  # bytes of a Unix socket path, without its terminating NUL


class ServerUnavailable(Exception):
    """No grading server can run this check; the caller grades in a cold child (one line says why)."""


# -- where a course's server lives ---------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    folder: Path
    socket: Path

    @property
    def lock(self) -> Path:
        return self.folder / "lock"

    @property
    def info(self) -> Path:
        return self.folder / "server.json"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def cache(self) -> Path:
        return self.folder / "rewritten"


def place(state_dir: Path, course_root: Path) -> Place:
    """Where the server of this course and state folder lives (folders created, owner-only)."""
    folder = state_dir / "server"
    _private_dir(folder)
    _private_dir(folder / "rewritten")
    sock = folder / "sock"
    if len(os.fsencode(sock)) + 9 > _SUN_PATH_MAX:  # room for the ".<pid>" it is bound under first
        key = hashlib.sha256(f"{course_root.resolve()}\0{state_dir.resolve()}".encode()).hexdigest()[:16]
        base = retreat_env.path("XDG_RUNTIME_DIR")
        if base is None or not base.is_dir() or len(os.fsencode(base)) > 60:
            base = Path("/tmp")
        short = base / f"retreat-{os.getuid()}"
        _private_dir(short)
        sock = short / f"{key}.sock"
    return Place(folder, sock)


def _private_dir(path: Path) -> None:
    """Make `path` a folder only its owner can use, or fail if someone else owns it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError as exc:
        raise ServerUnavailable(f"cannot use {path} for the grading server ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise ServerUnavailable(f"{path} is not a folder of yours; the grading server will not use it")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


# -- what a server must match --------------------------------------------------------------------

# Variables a process reads when it starts or imports torch: a server started under other values
# would grade differently from a cold child started under the client's.
_STARTUP_ENV = ("PYTHON", "LD_", "TORCH", "PYTORCH", "OMP_", "MKL_", "KMP_", "OPENBLAS_", "CUDA", "NVIDIA_",
                retreat_env.MEMORY_MB)
_identity: dict[str, str] | None = None


def identity(fresh: bool = False) -> dict[str, str]:
    """What a server must share with its client: the protocol, the engine (version, and a hash of
    its source), Python, torch and pytest as installed, and the start-up environment. Computed
    once per process (about a millisecond), so it describes the code the process runs; `fresh`
    reads the disk again (the server does, to tell a stale client from a stale self)."""
    global _identity
    if _identity is None or fresh:
        startup = sorted((k, v) for k, v in server_environ().items() if k.startswith(_STARTUP_ENV))
        ident = {
            "protocol": str(PROTOCOL),
            "engine": retreat.__version__,
            "code": _code_hash(),
            # The environment, not the name the interpreter was started by (python or python3).
            "python": f"{sys.version} {sys.prefix}",
            "torch": _installed("torch"),
            "pytest": _installed("pytest"),
            "env": hashlib.sha256(json.dumps(startup).encode()).hexdigest()[:16],
        }
        if fresh:
            return ident
        _identity = ident
    return _identity


def server_environ() -> dict[str, str]:
    """The environment a server starts with: what a cold check's interpreter would get
    (child.clean_environ: no PYTHONPATH or PYTEST_* of the shell), from this process's."""
    return clean_environ(os.environ)


def _code_hash() -> str:
    """A hash of the engine's source: an edited or reinstalled engine never talks to an old server."""
    digest = hashlib.sha256()
    package = Path(retreat.__file__).parent
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as f:
                        digest.update(path.encode() + b"\0" + f.read() + b"\0")
                except OSError:
                    pass
    return digest.hexdigest()[:16]


def _installed(name: str) -> str:
    """The installed version of a distribution, from its dist-info folder's name (no import)."""
    prefix = name + "-"
    for entry in sys.path:
        if not entry.endswith(("site-packages", "dist-packages")):
            continue
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for n in names:
            if n.startswith(prefix) and n.endswith(".dist-info"):
                return n[len(prefix):-len(".dist-info")]
    return "none"


def describe_difference(mine: dict, theirs: dict) -> str:
    """Which parts of two identities differ, in words for the server's log."""
    parts = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
    return ", ".join(f"{k} {theirs.get(k)!r} -> {mine.get(k)!r}" if k in ("engine", "torch", "pytest") else k
                     for k in parts) or "nothing"


def idle_timeout() -> float:
    """Seconds a server waits without a check before it exits ($RETREAT_SERVER_IDLE, default 15 min)."""
    value = retreat_env.get(retreat_env.SERVER_IDLE)
    try:
        return max(float(value), 0.5) if value else retreat_env.DEFAULT_SERVER_IDLE
    except ValueError:
        return retreat_env.DEFAULT_SERVER_IDLE


# -- one line at a time on a socket --------------------------------------------------------------

def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


class LineReader:
    """Lines from a socket, each within a deadline; None when the deadline passes, "" at the end."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def readline(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.sock], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                return None
            try:
                chunk = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return ""
            self.buf += chunk
            if len(self.buf) > MAX_LINE:
                raise ValueError("a line longer than any message")
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", errors="replace")


def parse(line: str) -> dict[str, Any]:
    """One message; ValueError when the line is not a JSON object."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("not an object")
    return message


# -- the client ----------------------------------------------------------------------------------

def read_info(p: Place) -> dict[str, Any] | None:
    try:
        info = json.loads(p.info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def is_server(pid: int, state_dir: Path) -> bool:
    """True if `pid` is a live grading server of this state folder (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return status != "Z" and b"retreat.grading.server" in cmdline and os.fsencode(state_dir) in cmdline


class Client:
    """A command's handle on its course's grading server; threads may share one."""

    def __init__(self, course_root: Path, state_dir: Path) -> None:
        self.root = course_root
        self.state = state_dir
        self._place: Place | None = None
        self._lock = threading.Lock()
        self._spawned: subprocess.Popen | None = None
        self.unavailable: str | None = None
        """Why a server could not be started: this process then grades cold from here on."""

    @property
    def place(self) -> Place:
        if self._place is None:
            self._place = place(self.state, self.root)
        return self._place

    # -- a check

    def run(self, args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, bool, str]:
        """Run pytest with `args` in a child of the server; (exit code or None, timed out, output tail)."""
        limits = limits_for(env.get(retreat_env.DEVICE), timeout)  # as a cold check's (runner.run_cold)
        request = {"op": "run", "identity": identity(), "args": args, "env": env, "cwd": str(cwd),
                   "timeout": timeout, "limits": {str(k): v for k, v in limits.items()}}
        for _ in range(2):
            conn, reader = self.connect(start=True)
            with conn:
                try:
                    send(conn, request)
                    line = reader.readline(ANSWER_TIMEOUT)
                except OSError:
                    line = ""
                if line is None:
                    self.kill("it did not take a check")
                    raise ServerUnavailable("the grading server was not answering and was stopped; "
                                            "checking without it")
                if line == "":
                    raise ServerUnavailable("the grading server went away; checking without it")
                reply = _parse_or_die(line)
                if "stale" in reply:  # it exits; the next connection starts a current one
                    self._wait_released(reply.get("pid"))
                    continue
                if "older" in reply:  # this process runs an engine older than the installed one
                    self.unavailable = ("this retreat process runs an older engine than the one installed "
                                        "(restart it to use the grading server); checking without it")
                    raise ServerUnavailable(self.unavailable)
                pid = reply.get("pid")
                if not isinstance(pid, int) or pid <= 1:
                    raise WorkerDied("the grading server's answer was not understood; the check is not trusted")
                return self._finish(conn, reader, pid, timeout)
        raise ServerUnavailable("the grading server kept being replaced; checking without it")

    def _finish(self, conn: socket.socket, reader: LineReader, pid: int,
                timeout: float) -> tuple[int | None, bool, str]:
        """Read a check's end; `pid` is its supervisor's (a child of the server)."""
        try:
            line = reader.readline(timeout + SUPERVISOR_GRACE + GRACE)
            if line is None:  # neither the supervisor nor the server ended it: the client does
                _signal(pid, signal.SIGTERM)
                line = reader.readline(GRACE)
                if line is None:
                    _signal(pid, signal.SIGKILL)
                    self.kill("it did not end a check")
                    return None, True, ""
        except BaseException:  # Ctrl-C, or the socket failing: the check goes with it
            _signal(pid, signal.SIGTERM)
            raise
        if line == "":
            _signal(pid, signal.SIGTERM)
            raise ServerUnavailable("the grading server stopped during the check; checking again without it")
        result = _parse_or_die(line, pid)
        code, timed_out, tail = result.get("exit"), result.get("timed_out"), result.get("tail", "")
        if not isinstance(timed_out, bool) or not isinstance(tail, str) or not (
                isinstance(code, int) or (code is None and timed_out)):
            _signal(pid, signal.SIGTERM)
            raise WorkerDied("the grading server's answer was not understood; the check is not trusted")
        return code, timed_out, tail

    # -- connecting and starting

    def connect(self, start: bool) -> tuple[socket.socket, LineReader]:
        """A connection to a server that has greeted it; with `start`, a server is started when
        none is running. Raises ServerUnavailable."""
        with self._lock:
            if self.unavailable:
                raise ServerUnavailable(self.unavailable)
            for _ in range(3):
                conn = self._try_connect()
                if conn is None:
                    if not start:
                        raise ServerUnavailable("no grading server is running")
                    self._start()
                    continue
                reader = LineReader(conn)
                try:
                    line = reader.readline(ANSWER_TIMEOUT)
                except (OSError, ValueError):
                    line = ""
                if line is None:
                    conn.close()
                    self.kill("it did not greet a connection")
                    raise ServerUnavailable("the grading server was not answering and was stopped; "
                                            "checking without it")
                if line == "":  # it was exiting (idle, or replaced): start another
                    conn.close()
                    time.sleep(0.05)
                    continue
                try:
                    hello = parse(line)
                except ValueError:
                    conn.close()
                    self.kill("its greeting was garbage")
                    raise ServerUnavailable("the grading server answered garbage and was stopped; "
                                            "checking without it") from None
                if hello.get("hello") != PROTOCOL:
                    conn.close()
                    self.kill("it speaks another protocol")
                    continue
                return conn, reader
        raise ServerUnavailable("could not reach the grading server; checking without it")

    def _try_connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.place.socket))
        except OSError:
            sock.close()
            return None
        return sock

    def _start(self) -> None:
        """Start a server (unless one is starting) and wait until its socket takes connections."""
        try:
            self._start_and_wait()
        except ServerUnavailable as exc:
            self.unavailable = str(exc)
            raise

    def _start_and_wait(self) -> None:
        p = self.place
        info = read_info(p)
        alive = info is not None and is_server(info["pid"], self.state)
        starting = alive and info.get("state") == "starting"  # type: ignore[union-attr]
        if alive and not starting:  # ready, yet its socket takes no connection: gone or removed
            self.kill("its socket takes no connection")
        if not starting:
            try:
                os.unlink(p.socket)  # a dead server's socket
            except OSError:
                pass
            self._spawned = self._spawn()
        deadline = time.monotonic() + START_TIMEOUT
        spawned_at = time.monotonic()
        while time.monotonic() < deadline:
            if self._socket_ready():
                return
            intermediate = self._spawned
            if intermediate is not None and intermediate.poll() is not None:
                self._spawned = None
                if intermediate.returncode not in (0, 3):  # 3: another server holds the lock
                    raise ServerUnavailable(f"the grading server could not start (see {p.log}); checking without it")
            if intermediate is None or intermediate.returncode is not None:
                info = read_info(p)
                if (info is None or not is_server(info["pid"], self.state)) and time.monotonic() - spawned_at > 2.0:
                    raise ServerUnavailable(f"the grading server could not start (see {p.log}); checking without it")
            time.sleep(0.01)
        self.kill("it took too long to start")
        raise ServerUnavailable("the grading server took too long to start; checking without it")

    def _socket_ready(self) -> bool:
        try:
            return stat.S_ISSOCK(os.stat(self.place.socket).st_mode)
        except OSError:
            return False

    def _spawn(self) -> subprocess.Popen:
        p = self.place
        try:
            if p.log.stat().st_size > 1 << 20:
                p.log.unlink()
        except OSError:
            pass
        child_env = server_environ()
        cmd = [sys.executable, "-P", "-m", "retreat.grading.server", "--course", str(self.root),
               "--state", str(self.state), "--idle", str(idle_timeout())]
        fd = os.open(p.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            return subprocess.Popen(cmd, cwd=p.folder, env=child_env, stdin=subprocess.DEVNULL, stdout=fd,
                                    stderr=fd, start_new_session=True, close_fds=True)
        except OSError as exc:
            raise ServerUnavailable(f"the grading server could not start ({exc.strerror}); "
                                    "checking without it") from None
        finally:
            os.close(fd)

    def _wait_released(self, pid: object, timeout: float = 5.0) -> None:
        """Wait until a stale server has let go of its socket (it does so before it answers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._socket_owned_by(pid):
            time.sleep(0.01)

    def _socket_owned_by(self, pid: object) -> bool:
        info = read_info(self.place)
        return info is not None and info.get("pid") == pid and self._socket_ready()

    # -- status, stop, kill

    def status(self) -> dict[str, Any] | None:
        """The running server's own account (pid, uptime, socket, versions, checks served), or None."""
        try:
            conn, reader = self.connect(start=False)
        except ServerUnavailable:
            return None
        with conn:
            send(conn, {"op": "status"})
            line = reader.readline(ANSWER_TIMEOUT)
        try:
            return parse(line) if line else None
        except ValueError:
            return None

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the course's server (its running checks are ended); its pid, or None if none was running."""
        info = read_info(self.place)
        pid = info["pid"] if info is not None and is_server(info["pid"], self.state) else None
        try:
            conn, reader = self.connect(start=False)
        except ServerUnavailable:
            conn = None
        if conn is not None:
            with conn:
                try:
                    send(conn, {"op": "stop"})
                    reader.readline(ANSWER_TIMEOUT)
                except OSError:
                    pass
        if pid is None:
            return None
        deadline = time.monotonic() + timeout
        while is_server(pid, self.state) and time.monotonic() < deadline:
            time.sleep(0.02)
        if is_server(pid, self.state):
            self.kill("it did not stop when asked")
        return pid

    def kill(self, why: str) -> None:
        """Kill a wedged server of this state folder and clear its socket (the next check starts another)."""
        info = read_info(self.place)
        if info is not None and is_server(info["pid"], self.state):
            try:
                os.kill(info["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
            _log_line(self.place, f"client {os.getpid()} killed server {info['pid']}: {why}")
        for path in (self.place.socket, self.place.info):
            try:
                os.unlink(path)
            except OSError:
                pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _parse_or_die(line: str, pid: int | None = None) -> dict[str, Any]:
    try:
        return parse(line)
    except ValueError:
        if pid is not None:
            _signal(pid, signal.SIGTERM)
        raise WorkerDied("the grading server's answer was not understood; the check is not trusted") from None


def _log_line(p: Place, text: str) -> None:
    try:
        fd = os.open(p.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    except OSError:
        pass


_clients: dict[tuple[str, str], Client] = {}
_clients_lock = threading.Lock()


def client_for(course_root: Path, state_dir: Path) -> Client:
    """The process's client of a course's server (one per course and state folder; dev check's
    threads share it, so one of them starts the server and the others wait for it)."""
    with _clients_lock:
        key = (str(course_root), str(state_dir))
        if key not in _clients:
            _clients[key] = Client(course_root, state_dir)
        return _clients[key]


def notice(text: str) -> None:
    """One line on stderr about the grading server (the verdict itself is unaffected)."""
    try:
        sys.stderr.write(f"retreat: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
