"""The grading child's side of a run, shared by the cold runner (runner.py) and the warm worker
(worker.py): the limits a child sets on itself before the tests start, the kill of its whole
process group, and the bounded tail of its output."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import threading
from typing import BinaryIO

import retreat.env as env

TAIL_BYTES = 16_384
# Address space a check may map: torch itself maps under 1 GiB; a learner's runaway allocation
# then fails as a MemoryError in the test instead of taking the machine down.
MEMORY_LIMIT_MB = env.memory_mb()

try:  # looked up now: a function run between fork and exec must not import or load anything
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


def prepare_child() -> None:
    """Run in a grading child before it starts: memory cap, and death with its parent."""
    limit_memory()
    die_with_parent()


def limit_memory(megabytes: int = MEMORY_LIMIT_MB) -> None:
    """Cap the calling process's address space (called in the child, before the tests run)."""
    limit = megabytes * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def die_with_parent() -> None:
    """Ask Linux to kill the calling process when its parent dies: a `retreat check` that is itself
    killed must not leave a spinning check behind (no one would enforce its timeout)."""
    if _LIBC is not None:
        try:
            _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except AttributeError:  # pragma: no cover - a libc without prctl
            pass


def kill_group(pgid: int) -> None:
    """Kill a child's whole process group: whatever the check started goes with it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
