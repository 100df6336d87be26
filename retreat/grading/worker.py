"""A warm worker: one process that has torch and pytest imported and forks a child per check.

The parent (retreat watch, retreat dev check, through runner.run_job) sends a job as one JSON
line on the worker's stdin; the worker forks, and the child becomes the leader of a new process
group, takes the job's environment and folder, sends its output into a pipe, and runs pytest. The
worker answers with the child's pid at once and, when the child ends, with its exit status and
output tail. Timeouts are the parent's to enforce: it kills the child's process group. Nothing in
the worker runs a tensor operation before forking (thread pools do not survive a fork), and no
course module is imported in the worker, so every check imports the learner's file afresh. The
child's own setup (limits, death with its parent) and the output tail are child.py's, shared with
the cold runner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from retreat.grading.child import Tail, die_with_parent, drain, kill_group, prepare_child

# torch.distributed.tensor is what the first torch.testing.assert_close call pulls in (seconds of imports).
PRELOAD = ("torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.distributed.tensor", "numpy",
           "pytest", "_pytest.python", "retreat.testing", "retreat.grading.plugin", "retreat.loader")


def _serve() -> None:
    """The worker's loop (in the worker process)."""
    import importlib

    sys.dont_write_bytecode = True
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    out = os.fdopen(os.dup(1), "w", buffering=1)
    # The worker's own stdout carries the protocol; stray prints go to stderr.
    os.dup2(2, 1)
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    lock = threading.Lock()

    def send(msg: dict) -> None:
        with lock:
            out.write(json.dumps(msg) + "\n")
            out.flush()

    for line in sys.stdin:
        job = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                os.setsid()
                os.close(read_fd)
                os.dup2(write_fd, 1)
                os.dup2(write_fd, 2)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.environ.clear()
                os.environ.update(job["env"])
                prepare_child()
                os.chdir(job["cwd"])
                sys.argv = ["pytest", *job["args"]]
                import pytest

                code = pytest.main(job["args"])
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(int(code))
            except BaseException:  # the child must never return into the worker loop
                os._exit(70)
        os.close(write_fd)
        send({"id": job["id"], "pid": pid})
        threading.Thread(target=_reap, args=(job["id"], pid, read_fd, send), daemon=True).start()


def _reap(job_id: str, pid: int, read_fd: int, send: Callable[[dict], None]) -> None:
    """In the worker: collect a child's output tail and exit status, and answer the parent."""
    tail = Tail()
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        drain(pipe, tail)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    send({"id": job_id, "exit": code, "tail": tail.text()})


class WorkerDied(RuntimeError):
    pass


class Worker:
    """The parent's handle on one warm worker process; one job at a time."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self._n = 0

    def start(self) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "retreat.grading.worker"], cwd=self.cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, start_new_session=True, preexec_fn=die_with_parent)
        self._reader = _LineReader(self.proc.stdout)
        hello = self._reader.readline(120.0)
        if not hello or not hello.startswith('{"ready"'):
            self.stop()
            raise WorkerDied("the warm worker did not start")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc.pid)
            self.proc.wait()
            self.proc = None

    def run(self, args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, bool, str]:
        """Run pytest with `args` in a forked child; return (exit code or None, timed out, output tail)."""
        if not self.alive:
            self.start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        self._n += 1
        job_id = str(self._n)
        try:
            self.proc.stdin.write(json.dumps({"id": job_id, "args": args, "env": env, "cwd": str(cwd)}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            raise WorkerDied("the warm worker went away") from None
        deadline = time.monotonic() + timeout
        pid = None
        timed_out = False
        result: dict | None = None
        reply: dict = {}
        reader = self._reader
        while result is None:
            remaining = deadline - time.monotonic()
            line = reader.readline(max(remaining, 0.0) if not timed_out else 5.0)
            if line is None:  # no answer in time
                if timed_out:
                    self.stop()  # the worker itself is stuck: replace it
                    return None, True, ""
                timed_out = True
                if pid is not None:
                    kill_group(pid)
                continue
            if line == "":
                self.stop()
                if pid is not None:
                    kill_group(pid)
                raise WorkerDied("the warm worker died during a check")
            reply = json.loads(line)
            if reply.get("id") != job_id:
                continue
            if "pid" in reply:
                pid = reply["pid"]
            else:
                result = reply
        if pid is not None:
            kill_group(pid)  # anything the check left running goes too
        return (None if timed_out else result["exit"]), timed_out, result.get("tail", "")


class _LineReader:
    """readline with a timeout on a pipe, buffering whole lines itself so select() never lies."""

    def __init__(self, stream) -> None:  # a text pipe; reads go to its file descriptor
        self.fd = stream.fileno()
        self.buf = b""

    def readline(self, timeout: float) -> str | None:
        import select

        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return ""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", errors="replace") + "\n"


class WorkerPool:
    """Warm workers shared by threads: each run borrows one, so n checks run at once."""

    def __init__(self, size: int, cwd: Path) -> None:
        import queue

        self.free: queue.Queue[Worker] = queue.Queue()
        self.all = [Worker(cwd) for _ in range(size)]
        for w in self.all:
            self.free.put(w)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        for w in self.all:
            w.stop()

    def borrow(self) -> Worker:
        return self.free.get()

    def give_back(self, worker: Worker) -> None:
        self.free.put(worker)


if __name__ == "__main__":
    _serve()
