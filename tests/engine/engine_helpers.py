"""Helpers shared by the engine tests (imported by name: conftest modules are not importable reliably)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import retreat.env as env
from retreat import course as course_module
from retreat.grading import client as grading_client
from retreat.grading import service as grading_service

FIXTURE = Path(__file__).parent / "fixture_course"


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Cut a test off from the real learner: every RETREAT_* variable the caller's shell exported
    (an exported RETREAT_JOURNAL would send a journal test into the real journal) is cleared,
    the state folder is `home`, output has no colour, and no course found earlier is reused.

    The autouse fixture does this for every test; a module-scoped fixture calls it inside
    `pytest.MonkeyPatch.context()`, which the autouse fixture cannot reach.
    """
    for name in env.names():
        mp.delenv(name)
    mp.setenv(env.HOME, str(home))
    mp.setenv("NO_COLOR", "1")
    course_module._course_cache.clear()
    # A test process's grading client describes the engine as it is on disk when the test starts
    # (other work may edit it between tests), and reaches a server of the test's own state folder.
    grading_client._identity = None
    grading_client._clients.clear()
    grading_service._noticed.clear()


def solve(root: Path, name: str) -> None:
    """Copy an exercise's solution over the learner's file, as a learner who solved it would."""
    (root / "exercises/basics" / name).write_text((root / "solutions/basics" / name).read_text())


def run_cli(root: Path, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI in a real subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "retreat.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def grading_servers(under: Path) -> list[int]:
    """Pids of the grading servers (retreat/grading/server.py) whose state folder is under `under`
    (not the checks they fork, which show the same command line)."""
    found: dict[int, int] = {}
    prefix = os.fsencode(under)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and b"retreat.grading.server" in argv and b"--state" in argv:
            folder = argv[argv.index(b"--state") + 1]
            if folder == prefix or folder.startswith(prefix + b"/"):
                found[int(name)] = int(fields[1])
    return [pid for pid, parent in found.items() if parent not in found]


def stop_grading_servers(under: Path, timeout: float = 10) -> list[int]:
    """Stop every grading server a test started (its state folder is under the test's `under`):
    SIGTERM, then SIGKILL for one that does not go. Returns the pids that were running."""
    import signal
    import time

    pids = grading_servers(under)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while grading_servers(under) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in grading_servers(under):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids
