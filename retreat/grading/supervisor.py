"""The supervisor of one check: a small process in the check's own tree that outlives it.

A check must end on time and leave nothing behind even when the process that asked for it is
unhealthy: `retreat check` stopped with SIGSTOP or Ctrl-Z cannot enforce a time limit, and a
killed one cannot kill what the check started. So every check runs under a supervisor, the
check's parent, which

- makes itself a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant whose parent exits (a
  double fork with setsid) is re-parented to the supervisor instead of init, so it can be found;
- enforces the wall-clock deadline itself, whatever happens to its own parent;
- ends the check when its parent dies (PR_SET_PDEATHSIG with SIGTERM, which it handles), or on
  SIGTERM, SIGINT or SIGHUP;
- when the check ends (exits, times out, or is cancelled) kills every remaining descendant with
  SIGKILL until none is left, reaps them, and reports one status line on a pipe of its own:
  "<exit code or 'none'> <timed out 0|1> <cancelled 0|1> <descendants killed>".

The check itself is a fork of the supervisor that leads its own session (setsid), sets its
limits (memory, CPU time) and dies with the supervisor (PR_SET_PDEATHSIG, SIGKILL).

Two ways in, one loop (`supervise`):
- cold (`retreat check`, through child.run_supervised): this file runs as a script,
  `python -P supervisor.py --status-fd N --timeout S --parent PID [--limit RES=BYTES]... -- ARGS`;
  the check is a fork that runs `python -m pytest ARGS` in the same interpreter (one interpreter
  start per check, not two);
- warm (a process that already has torch imported forks per check): call
  child.supervise_fork() in the forked process.

Only the standard library is imported here, so the script starts fast and cannot be shadowed by
anything of the course's.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# The signals that end a check early: the supervisor waits for them (blocked, with sigtimedwait)
# instead of handling them, so no handler can run in the middle of its bookkeeping.
CANCEL = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
KILL_ROUNDS = 200  # a fork bomb forks between rounds; each round kills all it can see

try:  # looked up once: a function run between fork and exec must not load anything
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


def prctl(option: int, value: int) -> bool:
    """Call prctl(2); False where it is missing (not Linux) or refused."""
    if _LIBC is None or not hasattr(_LIBC, "prctl"):
        return False
    return _LIBC.prctl(option, value, 0, 0, 0) == 0


def become_subreaper() -> bool:
    """Make orphaned descendants of the calling process its children (Linux >= 3.4)."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send `sig` to the calling process when the thread that forked it exits."""
    return prctl(PR_SET_PDEATHSIG, int(sig))


def apply_limits(limits: dict[int, int]) -> None:
    """Set each resource limit {RLIMIT_*: value} (soft and hard); a refused one is skipped."""
    for res, value in limits.items():
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass


def descendants(root: int | None = None) -> list[int]:
    """Every live (not zombie) process below `root` (default: this one), read from /proc."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # pragma: no cover - no /proc
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 2 or fields[0] == b"Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def reap() -> list[tuple[int, int]]:
    """Collect every child that has ended, without waiting; [(pid, wait status)]."""
    done = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done.append((pid, status))


def kill_descendants() -> int:
    """SIGKILL every descendant of this process until none is left; return how many were killed.

    A subreaper sees every orphan as its own child; a descendant whose parent still lives is found
    through that parent. Killed processes are reaped as they become this process's children.
    """
    killed: set[int] = set()
    for _ in range(KILL_ROUNDS):
        pids = descendants()
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        reap()
        time.sleep(0.002)
    reap()
    return len(killed)


def supervise(pid: int, timeout: float) -> tuple[int | None, bool, bool, int]:
    """Wait for the check `pid` (a child of this process, leading its own process group) for at most
    `timeout` seconds of wall clock; then kill what is left of its tree.

    Call with CANCEL and SIGCHLD blocked (see `block_signals`). Returns (the check's exit code,
    negative for a signal, or None when it did not end by itself; timed out; cancelled; how many
    descendants were killed after it).
    """
    deadline = time.monotonic() + timeout
    code: int | None = None
    timed_out = cancelled = False
    wake = {signal.SIGCHLD, *CANCEL}
    while code is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        info = signal.sigtimedwait(wake, remaining)
        if info is None:
            continue
        if info.si_signo != signal.SIGCHLD:
            cancelled = True
            break
        for done, status in reap():
            if done == pid:
                code = os.waitstatus_to_exitcode(status)
    if code is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    killed = kill_descendants()
    if code is None:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    return code, timed_out, cancelled, killed


def block_signals() -> set[int]:
    """Block SIGCHLD and the cancelling signals (for `supervise`); return the previous mask."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, *CANCEL})


def enter_check(status_fd: int, limits: dict[int, int], mask: set[int]) -> None:
    """In the freshly forked check: a session of its own, its limits, death with the supervisor, the
    signal mask it had before, and no way to the supervisor's status pipe."""
    os.setsid()
    os.close(status_fd)
    apply_limits(limits)
    die_with_parent(signal.SIGKILL)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def run(check: Callable[[], object], timeout: float, limits: dict[int, int], status_fd: int,
        parent: int | None = None) -> None:
    """Become the supervisor of one check and run it. In the fork that becomes the check, call
    `check()` and return only in that process (its caller ends the process with whatever `check()`
    did); in the supervisor, write the status line to `status_fd` and exit.

    `parent` is the pid of the process that waits for the supervisor: if it is already gone, the
    check is cancelled before it starts.
    """
    become_subreaper()
    die_with_parent(signal.SIGTERM)
    mask = block_signals()
    pid = os.fork()
    if pid == 0:
        enter_check(status_fd, limits, mask)
        check()
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)  # the parent died before we could ask to follow it
    code, timed_out, cancelled, killed = supervise(pid, timeout)
    line = f"{'none' if code is None else code} {int(timed_out)} {int(cancelled)} {killed}\n"
    try:
        os.write(status_fd, line.encode())
    except OSError:
        pass
    os._exit(0)


def parse_status(text: str) -> tuple[int | None, bool, bool, int] | None:
    """The supervisor's status line as (exit code or None, timed out, cancelled, killed); None if malformed."""
    parts = text.split()
    if len(parts) != 4:
        return None
    try:
        code = None if parts[0] == "none" else int(parts[0])
        return code, parts[1] == "1", parts[2] == "1", int(parts[3])
    except ValueError:
        return None


def _run_pytest(args: list[str]) -> None:
    """The cold check: `python -m pytest ARGS`, in the interpreter the supervisor started."""
    import runpy

    sys.argv = ["pytest", *args]
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, args = argv[:split], argv[split + 1:]
    status_fd, timeout, parent, limits = -1, 0.0, None, {}
    it = iter(options)
    for flag in it:
        value = next(it)
        if flag == "--status-fd":
            status_fd = int(value)
        elif flag == "--timeout":
            timeout = float(value)
        elif flag == "--parent":
            parent = int(value)
        elif flag == "--limit":
            name, number = value.split("=")
            limits[getattr(resource, name)] = int(number)
    run(lambda: _run_pytest(args), timeout, limits, status_fd, parent)


if __name__ == "__main__":
    main(sys.argv[1:])
