"""Process control that does not depend on the parent staying healthy: each check runs under a
supervisor in its own tree (retreat/grading/supervisor.py) that enforces the time limit, finds
every descendant (a double fork with setsid, a cleared death signal) and kills it; the memory cap
is chosen per device (retreat/grading/child.py)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from grading_helpers import gone_within, grade, wait_for_pid, write_exercise

import retreat.env as env
from retreat.grading.child import memory_limits

CLEAR_DEATH_SIGNAL = "import ctypes\nctypes.CDLL(None).prctl(1, 0)  # PR_SET_PDEATHSIG: none\n"


def _escape(marker: Path) -> str:
    """Exercise code that leaves a process behind: fork, setsid, fork again, clear the death signal."""
    return textwrap.dedent(f"""\
        import ctypes, os, time

        def _escape():
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    ctypes.CDLL(None).prctl(1, 0)
                    with open({str(marker)!r} + '.tmp', 'w') as f:
                        f.write(str(os.getpid()))
                    os.rename({str(marker)!r} + '.tmp', {str(marker)!r})
                    time.sleep(600)
                os._exit(0)
            while not os.path.exists({str(marker)!r}):
                time.sleep(0.01)
        """)


def _kill(pid: int | None) -> None:
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("when", ["import", "test"])
def test_a_double_forked_setsid_process_does_not_outlive_a_passing_check(course_dir: Path, tmp_path: Path,
                                                                        when: str) -> None:
    marker = tmp_path / "escaped.pid"
    body = _escape(marker) + ("_escape()\n\ndef add(a, b):\n    return a + b\n" if when == "import" else
                              "\ndef add(a, b):\n    _escape()\n    return a + b\n")
    write_exercise(course_dir, "01_add.py", body)
    v = grade(course_dir, "add")
    pid = wait_for_pid(marker)
    try:
        assert v.ok, v.problem or v.tests
        assert gone_within(pid, 3), "a process the check started outlived it"
    finally:
        _kill(pid)


def test_an_escaped_process_of_a_timed_out_check_is_killed(course_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "escaped.pid"
    write_exercise(course_dir, "03_spin.py", _escape(marker) + "_escape()\nwhile True:\n    pass\n")
    started = time.monotonic()
    v = grade(course_dir, "spin", timeout=3)
    pid = wait_for_pid(marker)
    try:
        assert not v.ok and v.problem_kind == "timeout", v
        assert time.monotonic() - started < 3 + 5
        assert gone_within(pid, 3), "a process the check started outlived its timeout"
    finally:
        _kill(pid)


def _start_check(root: Path, item: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "retreat.cli", "check", item], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def _short_spin(root: Path, seconds: int) -> None:
    roadmap = root / "roadmap.yaml"
    roadmap.write_text(roadmap.read_text().replace("timeout: 8", f"timeout: {seconds}"))


def test_the_time_limit_holds_while_the_parent_is_stopped(course_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "spin.pid"
    _short_spin(course_dir, 3)
    write_exercise(course_dir, "03_spin.py", f"import os\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                     "while True:\n    pass\n")
    proc = _start_check(course_dir, "spin")
    pid = None
    try:
        pid = wait_for_pid(marker)
        os.kill(proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        assert gone_within(pid, 3 + 10), "the check ran on past its limit while retreat check was stopped"
        assert time.monotonic() - stopped < 3 + 10
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 1 and "did not finish within 3 s" in out, out + err
        assert "Traceback" not in out + err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait()
        _kill(pid)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_check_leaves_nothing_even_when_the_code_cleared_its_death_signal(
        course_dir: Path, tmp_path: Path, how: signal.Signals) -> None:
    marker, escaped = tmp_path / "spin.pid", tmp_path / "escaped.pid"
    write_exercise(course_dir, "03_spin.py", _escape(escaped) + "_escape()\n" + CLEAR_DEATH_SIGNAL +
           f"import os\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass\n")
    proc = _start_check(course_dir, "spin")
    pid = other = None
    try:
        pid, other = wait_for_pid(marker), wait_for_pid(escaped)
        os.kill(proc.pid, how)
        proc.communicate(timeout=30)
        assert gone_within(pid, 5), f"the check outlived retreat check ({how.name})"
        assert gone_within(other, 5), f"a process the check started outlived retreat check ({how.name})"
    finally:
        proc.kill()
        proc.wait()
        _kill(pid)
        _kill(other)


def test_the_child_has_a_cpu_time_backstop(course_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "limits.json"
    write_exercise(course_dir, "01_add.py",
                   f"import json, resource\njson.dump(resource.getrlimit(resource.RLIMIT_CPU), "
                   f"open({str(marker)!r}, 'w'))\n\ndef add(a, b):\n    return a + b\n")
    assert grade(course_dir, "add", timeout=20).ok
    soft, hard = json.loads(marker.read_text())
    assert 20 <= soft <= hard != resource.RLIM_INFINITY, (soft, hard)


LIMITS = ("import json, resource\n"
          "json.dump([resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_DATA)[0]], "
          "open({marker!r}, 'w'))\n\ndef add(a, b):\n    return a + b\n")


@pytest.mark.parametrize("device", [None, "cpu", "cuda"])
def test_the_memory_cap_is_chosen_per_device(course_dir: Path, tmp_path: Path, device: str | None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.MEMORY_MB, "3000")
    marker = tmp_path / "limits.json"
    write_exercise(course_dir, "01_add.py", LIMITS.format(marker=str(marker)))
    v = grade(course_dir, "add", extra_env={env.DEVICE: device} if device else {})
    assert v.ok, v.problem or v.tests
    address_space, data = json.loads(marker.read_text())
    cap = 3000 * 1024 * 1024
    if device == "cuda":  # an address-space cap stops CUDA from initialising: cap the data segment instead
        assert (address_space, data) == (resource.RLIM_INFINITY, cap)
    else:
        assert (address_space, data) == (cap, resource.RLIM_INFINITY)


def test_memory_limits_per_device() -> None:
    mb = 1024 * 1024
    assert memory_limits("cpu", 100) == {resource.RLIMIT_AS: 100 * mb}
    assert memory_limits(None, 100) == {resource.RLIMIT_AS: 100 * mb}
    assert memory_limits("cuda", 100) == {resource.RLIMIT_DATA: 100 * mb}
    assert memory_limits("cuda:1", 100) == {resource.RLIMIT_DATA: 100 * mb}
    assert memory_limits("cpu", 0) == {}


def test_a_runaway_allocation_is_a_memory_failure_on_cuda_too(course_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.MEMORY_MB, "1024")
    write_exercise(course_dir, "04_boom.py", "def square(x):\n    hog = []\n    while True:\n"
                                     "        hog.append(bytearray(64 * 1024 * 1024))\n")
    v = grade(course_dir, "boom", extra_env={env.DEVICE: "cuda"})
    assert not v.ok and v.tests and v.tests[0].kind == "memory", v


def test_check_device_cuda_without_cuda_is_one_line(course_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: docs/guide/getting-started.md says how to try --device cuda")
    from engine_helpers import run_cli

    r = run_cli(course_dir, "check", "add", "--device", "cuda")
    assert r.returncode == 2 and "no CUDA device" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cuda_initialises_in_the_grading_child(course_dir: Path) -> None:
    """On a GPU machine (docs/guide/getting-started.md): CUDA starts under the check's memory cap."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA here: run this on a GPU machine")
    write_exercise(course_dir, "01_add.py", "import torch\n\ndef add(a, b):\n"
                                            "    return int(torch.tensor([a, b], device='cuda').sum().item())\n")
    v = grade(course_dir, "add", extra_env={env.DEVICE: "cuda"})
    assert v.ok, v.problem or v.tests


SUPERVISE_A_FORK = textwrap.dedent("""\
    # A warm process (the grading server) running one check in a fork, with the engine's functions.
    import os, sys, time
    from retreat.grading.child import read_status, supervise_fork

    def check():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open(sys.argv[1], 'w').write(str(os.getpid()))
                time.sleep(600)
            os._exit(0)
        time.sleep(float(sys.argv[2]))
        return 3

    status_r, status_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        supervise_fork(check, timeout=2.0, limits={}, status_fd=status_w)
    os.close(status_w)
    os.waitpid(pid, 0)
    print(read_status(status_r))
    """)


@pytest.mark.parametrize(("sleep", "expected"), [("0.2", "(3, False)"), ("30", "(None, True)")])
def test_a_forked_check_is_supervised_like_a_cold_one(tmp_path: Path, sleep: str, expected: str) -> None:
    marker = tmp_path / "escaped.pid"
    script = tmp_path / "server.py"
    script.write_text(SUPERVISE_A_FORK)
    started = time.monotonic()
    r = subprocess.run([sys.executable, str(script), str(marker), sleep], capture_output=True, text=True,
                       timeout=60)
    pid = wait_for_pid(marker, 1)
    try:
        assert r.stdout.strip() == expected, r.stdout + r.stderr
        assert time.monotonic() - started < 2 + 8
        assert gone_within(pid, 3), "a process the forked check started outlived it"
    finally:
        _kill(pid)
