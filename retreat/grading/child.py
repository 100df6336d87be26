"""The grading child: what it sees (environment, path, pytest configuration), what it may use
(memory, CPU time) and how it is run and ended (a supervisor in its own tree). Shared by every
way of running a check: the cold runner (runner.py), the warm worker (worker.py) and a warm
server that forks per check.

The pieces, by stable name (a process that runs checks composes these, it does not copy them):

- `clean_environ(environ)`: the child's environment from the learner's. Dropped: every PYTEST_*
  variable (PYTEST_ADDOPTS and PYTEST_PLUGINS change what is collected and loaded; only
  PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 is set, so no installed plugin loads either), the grader's
  own RETREAT_* variables (the grader sets them per job; the learner's RETREAT_COURSE, HOME,
  NOW, MEMORY_MB... stay) and every PYTHON* variable except those that only choose text
  encodings or which user site-packages the engine's interpreter sees (KEPT_PYTHON). Notably
  PYTHONPATH (its folders come before the standard library: a `random.py` there shadows it),
  PYTHONHOME (another standard library), PYTHONSTARTUP, PYTHONINSPECT, PYTHONOPTIMIZE,
  PYTHONWARNINGS, PYTHONBREAKPOINT, PYTHONDEVMODE are dropped; the child imports exactly what
  the engine's interpreter has installed. Set: PYTHONSAFEPATH=1 (also for anything the check
  starts with sys.executable), PYTHONDONTWRITEBYTECODE=1, PYTHONHASHSEED=0, PYTHONIOENCODING=utf-8.
- `PYTHON_FLAGS` for the interpreter's command line (-P: neither the current folder nor a
  script's folder goes on sys.path), and `safe_sys_path()` for a child that is a fork of a
  running interpreter (drops every sys.path entry that comes before the standard library).
- `write_pytest_ini(folder)` and `pytest_args(root, tests, ini)`: pytest runs with the engine's
  own configuration file (-c), so the course's or a scratch pytest.ini, tox.ini, setup.cfg or
  pyproject.toml changes nothing; `--rootdir` and `--confcutdir` are the course root (no conftest
  above it is loaded); the plugin is loaded by name, the cache provider not at all.
- `limits_for(device, timeout)`: the resource limits of a check. Memory (`memory_limits`):
  RLIMIT_AS on the CPU; on CUDA an address-space cap stops CUDA from initialising (it reserves
  tens of GB of address space it never touches), so RLIMIT_DATA caps what the check writes to
  (heap and private writable mappings, which CUDA's reservations are not). CPU time
  (`cpu_seconds`): RLIMIT_CPU, a backstop far above what the wall-clock limit allows.
- `prepare_child(device, timeout)`: run in a child that runs pytest in-process (a fork of a
  warm worker): safe path, limits, death with its parent.
- `run_supervised(args, environ, cwd, timeout, limits)`: a cold check under the supervisor
  (supervisor.py): returns (exit code or None, timed out, output tail). The time limit, the
  subreaper and the final kill of every descendant live in the supervisor, so they hold while
  the caller is stopped or dies.
- `supervise_fork(check, timeout, limits, status_fd)`: the same for a process forked from a warm
  one: call it in the fork; it never returns. The caller reads the result with
  `read_status(status_read_fd)` after the fork (the supervisor) has exited.
- `kill_group(pgid)`, `kill_descendants()` (supervisor.py), `Tail`, `drain`, `drain_in_thread`:
  the kill and the bounded tail of the output, for any caller.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, NoReturn

import retreat.env as env
from retreat.grading import supervisor
from retreat.grading.supervisor import apply_limits, die_with_parent, kill_descendants, parse_status

__all__ = ["KEPT_PYTHON", "PYTHON_FLAGS", "Tail", "clean_environ", "cpu_seconds", "die_with_parent", "drain",
           "drain_in_thread", "kill_descendants", "kill_group", "limits_for", "memory_limits", "prepare_child",
           "pytest_args", "read_status", "run_supervised", "safe_sys_path", "supervise_fork", "write_pytest_ini"]

TAIL_BYTES = 16_384

# PYTHON* variables the child keeps: text encodings, and which user site-packages the engine's
# interpreter sees (those come after the standard library, so they cannot shadow it).
KEPT_PYTHON = frozenset({"PYTHONUTF8", "PYTHONCOERCECLOCALE", "PYTHONUSERBASE", "PYTHONNOUSERSITE"})
# The grader's variables (retreat/env.py, second group): set per job, never taken from the shell.
GRADER_SET = frozenset({env.TARGET, env.OVERRIDES, env.DEVICE, env.FORBID, env.GRADED, env.REPORT, env.RUN_ID})
PYTHON_FLAGS = ("-P",)
# How long the caller waits for the supervisor beyond the check's own limit before ending it.
SUPERVISOR_GRACE = 15.0


def clean_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The grading child's environment made from the learner's (see the module docstring)."""
    out = {k: v for k, v in environ.items()
           if not k.startswith("PYTEST_") and k not in GRADER_SET
           and (not k.startswith("PYTHON") or k in KEPT_PYTHON)}
    out.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONSAFEPATH="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    return out


def safe_sys_path() -> None:
    """Drop every sys.path entry before the standard library (the current folder, a script's
    folder, PYTHONPATH): in a forked child, nothing of the course's may shadow a standard module."""
    paths = sysconfig.get_paths()
    stdlib = {os.path.realpath(p) for p in (paths["stdlib"], paths["platstdlib"])}
    stdlib.add(os.path.realpath(os.path.join(sys.base_prefix, "lib",
                                             f"python{sys.version_info[0]}{sys.version_info[1]}.zip")))
    for i, entry in enumerate(sys.path):
        if entry and os.path.realpath(entry) in stdlib:
            del sys.path[:i]
            return


PYTEST_INI = """\
# retreat's configuration for a grading run (retreat/grading/child.py). The course's pytest.ini,
# tox.ini, setup.cfg and pyproject.toml are not read: no file beside the course decides what runs.
[pytest]
addopts =
python_files = test_*.py
python_classes = Test
python_functions = test
"""


def write_pytest_ini(folder: Path) -> Path:
    """Write the engine's pytest configuration into `folder` (a run's own temporary folder)."""
    path = folder / "pytest.ini"
    path.write_text(PYTEST_INI, encoding="utf-8")
    return path


def pytest_args(root: Path, tests: list[str], ini: Path, collect_only: bool = False) -> list[str]:
    """pytest's arguments for running (or collecting) `tests`, paths relative to the course `root`."""
    return [
        *(str(root / t) for t in tests),
        "-c", str(ini),
        "--rootdir", str(root),
        "--confcutdir", str(root),
        "-p", "retreat.grading.plugin",
        "-p", "no:cacheprovider",
        "-o", "addopts=",
        "--import-mode=importlib",
        "-q", "--no-header", "-rN", "--tb=short", "-W", "ignore::pytest.PytestAssertRewriteWarning",
        *(["--collect-only"] if collect_only else []),
    ]


def memory_limits(device: str | None, megabytes: int | None = None) -> dict[int, int]:
    """The memory cap of a check on `device`, as {RLIMIT_*: bytes}; none when `megabytes` is 0."""
    megabytes = env.memory_mb() if megabytes is None else megabytes
    if megabytes <= 0:
        return {}
    limit = megabytes * 1024 * 1024
    if device and device.split(":")[0] == "cuda":
        return {resource.RLIMIT_DATA: limit}
    return {resource.RLIMIT_AS: limit}


def cpu_seconds(timeout: float) -> int:
    """RLIMIT_CPU of a check with a wall-clock `timeout`: every core busy for the whole limit, and
    more. The supervisor ends a check on time; this ends a spinning one if all else failed."""
    return math.ceil(timeout * max(1, os.cpu_count() or 1)) + 30


def limits_for(device: str | None, timeout: float | None = None) -> dict[int, int]:
    """Every resource limit of a check: its memory cap on `device`, and CPU time for `timeout`."""
    limits = memory_limits(device)
    if timeout:
        limits[resource.RLIMIT_CPU] = cpu_seconds(timeout)
    return limits


def prepare_child(device: str | None = None, timeout: float | None = None) -> None:
    """Run in a grading child that runs pytest in-process (a fork of a warm worker), before the
    tests start: a safe sys.path, the limits for `device` (default: the job's RETREAT_DEVICE) and
    `timeout`, and death with its parent."""
    safe_sys_path()
    apply_limits(limits_for(device if device is not None else env.get(env.DEVICE), timeout))
    die_with_parent()


def kill_group(pgid: int) -> None:
    """Kill a child's whole process group: whatever the check started goes with it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_status(fd: int) -> tuple[int | None, bool] | None:
    """Read and close a supervisor's status pipe: (exit code or None, timed out), or None when the
    supervisor wrote nothing (it died) or the check was cancelled."""
    data = b""
    try:
        while len(data) < 256:
            chunk = os.read(fd, 256)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    finally:
        os.close(fd)
    status = parse_status(data.decode("ascii", errors="replace"))
    if status is None or status[2]:
        return None
    return status[0], status[1]


def run_supervised(args: list[str], environ: dict[str, str], cwd: Path, timeout: float,
                   limits: dict[int, int]) -> tuple[int | None, bool, str]:
    """Run `python -m pytest ARGS` under a supervisor (supervisor.py) in a fresh interpreter; return
    (its exit code, or None when it did not end by itself; whether it timed out; the output's tail).

    The supervisor enforces `timeout` and kills every descendant at the end; this process only
    waits, drains the output, and cancels the check (SIGTERM to the supervisor) if it is itself
    interrupted.
    """
    status_r, status_w = os.pipe()
    cmd = [sys.executable, *PYTHON_FLAGS, supervisor.__file__, "--status-fd", str(status_w),
           "--timeout", repr(float(timeout)), "--parent", str(os.getpid()),
           *(a for res, value in limits.items() for a in ("--limit", f"{_rlimit_name(res)}={value}")), "--", *args]
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=(status_w,), start_new_session=True)
    except BaseException:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    assert proc.stdout is not None
    tail = Tail()
    reader = drain_in_thread(proc.stdout, tail)
    stuck = False
    try:
        proc.wait(timeout=timeout + SUPERVISOR_GRACE)
    except subprocess.TimeoutExpired:  # the supervisor itself is stuck (stopped by the check?)
        stuck = True
        _end_supervisor(proc)
    except BaseException:  # Ctrl-C, or an error here: the supervisor ends the check and its tree
        _end_supervisor(proc)
        os.close(status_r)
        reader.join(timeout=2)
        proc.stdout.close()
        raise
    status = read_status(status_r)
    reader.join(timeout=2)
    proc.stdout.close()
    if stuck:
        return None, True, tail.text()
    if status is None:  # the supervisor died, or was ended from outside: the check did not finish
        return (proc.returncode if proc.returncode < 0 else -signal.SIGKILL), False, tail.text()
    return status[0], status[1], tail.text()


def _rlimit_name(res: int) -> str:
    for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE"):
        if getattr(resource, name, None) == res:
            return name
    raise ValueError(f"unknown resource limit {res}")


def _end_supervisor(proc: subprocess.Popen) -> None:
    """Ask the supervisor to end the check (it kills the whole tree), then make sure it is gone."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    kill_group(proc.pid)
    proc.wait()


def supervise_fork(check: Callable[[], int | None], timeout: float, limits: dict[int, int], status_fd: int,
                   parent: int | None = None) -> NoReturn:
    """In a process just forked from a warm one (torch and pytest imported): supervise one check.

    The process becomes the check's supervisor (supervisor.py) and forks the check, which gets a
    safe sys.path, `limits`, its own session, and runs `check()`, exiting with what it returns.
    The supervisor writes its status line to `status_fd` and exits; the caller reads it with
    `read_status` on the other end of the pipe. Output goes where the caller pointed fds 1 and 2.
    Never returns.
    """

    def body() -> None:
        code = 70
        try:
            safe_sys_path()
            code = int(check() or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code)

    try:
        supervisor.run(body, timeout, limits, status_fd, parent)
    finally:
        os._exit(70)  # never back into the caller's loop


class Tail:
    """The last TAIL_BYTES of a stream: a check that prints without end fills neither memory nor disk."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def add(self, chunk: bytes) -> None:
        self.buf += chunk
        if len(self.buf) > 2 * TAIL_BYTES:
            del self.buf[:-TAIL_BYTES]

    def text(self) -> str:
        return bytes(self.buf[-TAIL_BYTES:]).decode("utf-8", errors="replace")


def drain(stream: BinaryIO, tail: Tail) -> None:
    """Read `stream` to its end into `tail`, a chunk at a time as it arrives."""
    read = getattr(stream, "read1", stream.read)  # a buffered pipe's read() would wait for a full chunk
    for chunk in iter(lambda: read(65536), b""):
        tail.add(chunk)


def drain_in_thread(stream: BinaryIO, tail: Tail) -> threading.Thread:
    """Drain `stream` into `tail` in a daemon thread (started), so the child never blocks on a full pipe."""
    thread = threading.Thread(target=drain, args=(stream, tail), daemon=True)
    thread.start()
    return thread
