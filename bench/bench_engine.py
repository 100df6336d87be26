"""The engine's speed, as ratios measured side by side in one run (the machine is shared and noisy).

    python bench/bench_engine.py            # everything, including dev check over the whole course
    python bench/bench_engine.py --quick    # skip dev check
    python bench/bench_engine.py --dev-check-only

Each pair of commands runs alternately, several times, and is compared by median wall time:
  retreat next / list        vs  python -c "import click, yaml"                  target <= 1.5x
  first retreat check ID     vs  python -m pytest on the same test file          target <= 1.1x
      (no grading server running: the check starts one)
  repeated retreat check ID  vs  the same pytest                                 target <= 0.2x
      (the course's grading server is up, as it is after the first check)
  watch: save -> verdict     (a running `retreat watch`)                         target <= 0.3 s
  retreat dev check over the whole course                                        target < 180 s
CPU time is reported beside wall time: it moves little when other work shares the cores. A
command's CPU includes the grading server's share (read from /proc), since the server, not the
command, runs the tests. Runs in a temporary copy of the course with its own state folder, so
your progress and your own grading server are untouched; the bench's server is stopped at the end.
The engine runs from a frozen copy too (a small virtual environment that sees the installed
packages): an engine edited while the bench runs would otherwise restart the server, as it must.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def frozen_python(folder: Path) -> str:
    """A Python that imports the engine from a copy in `folder` and everything else from this
    interpreter's site-packages (a venv with a .pth file; no packages are installed)."""
    import site
    import venv

    shutil.copytree(ROOT / "retreat", folder / "engine" / "retreat", ignore=shutil.ignore_patterns("__pycache__"))
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder / "venv")
    python = folder / "venv" / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    Path(target, "retreat-bench.pth").write_text(f"{folder / 'engine'}\n" + "\n".join(site.getsitepackages()) + "\n")
    return str(python)
TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(state: Path) -> float:
    """CPU seconds the course's grading server and its reaped children have used so far."""
    try:
        pid = json.loads((state / "server" / "server.json").read_text())["pid"]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, KeyError, IndexError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def timed(cmd: list[str], cwd: Path, env: dict[str, str], state: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command, everything it started, and the server's share)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server_cpu(state) if state else 0.0
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if state:
        cpu += max(0.0, server_cpu(state) - server_before)
    return wall, cpu


def side_by_side(a: Callable[[], tuple[float, float]], b: Callable[[], tuple[float, float]],
                 n: int, before_a: Callable[[], None] | None = None) -> tuple[float, float, float, float]:
    """Median wall and CPU times of `a` and `b`, run alternately so both see the same machine
    (`before_a`, untimed, runs before each `a`)."""
    runs_a, runs_b = [], []
    for _ in range(n):
        if before_a:
            before_a()
        runs_a.append(a())
        runs_b.append(b())
    med = statistics.median
    return med(r[0] for r in runs_a), med(r[0] for r in runs_b), med(r[1] for r in runs_a), med(r[1] for r in runs_b)


def copy_course(dest: Path) -> Path:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns(".venv", ".git", "site", ".retreat", "__pycache__", "test-artifacts")
    for name in ("roadmap.yaml", "my-roadmap.yaml", "retreat.lock"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for name in ("roadmap", "exercises", "solutions", "tests", "support", "docs"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def watch_latency(retreat: list[str], course: Path, env: dict[str, str], item: str, exercise: Path,
                  n: int) -> list[float]:
    """Times from a save to the verdict line in a running `retreat watch`."""
    proc = subprocess.Popen([*retreat, "watch", item, "--no-follow"], cwd=course, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def wait_verdict(timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if "checks passed in" in line:
                return
        raise RuntimeError("no verdict from retreat watch")

    try:
        wait_verdict()
        text = exercise.read_text()
        samples = []
        for i in range(n):
            time.sleep(0.5)
            start = time.perf_counter()
            exercise.write_text(text + f"\n# edit {i}\n")
            wait_verdict()
            samples.append(time.perf_counter() - start)
        return samples
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip dev check over the whole course")
    parser.add_argument("--dev-check-only", action="store_true", help="only dev check over the whole course")
    parser.add_argument("-n", type=int, default=7, help="repetitions per pair (default 7)")
    parser.add_argument("--item", default="softmax", help="exercise for the check and watch timings")
    parser.add_argument("--live-engine", action="store_true", help="run the engine from this checkout, not a copy")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops its server

    with tempfile.TemporaryDirectory(prefix="retreat-bench-") as tmp:
        py = sys.executable if args.live_engine else frozen_python(Path(tmp))
        course = copy_course(Path(tmp) / "course")
        state = Path(tmp) / "state"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETREAT_")}
        env.update(RETREAT_HOME=str(state), NO_COLOR="1")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is cached on a learner's machine
        try:
            rows = run_all(py, course, state, env, args)
        finally:
            subprocess.run([py, "-m", "retreat.cli", "server", "stop"], cwd=course, env=env, capture_output=True)
    return 0 if rows else 1


def dev_check(retreat: list[str], course: Path, env: dict[str, str], width: int) -> None:
    start = time.perf_counter()
    proc = subprocess.run([*retreat, "dev", "check"], cwd=course, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    summary = next((line for line in proc.stdout.splitlines() if "exercises sound" in line), "no summary")
    print(f"{'retreat dev check, whole course':{width}}  {elapsed:7.1f}s  ({summary}; target < 180 s "
          f"{'ok' if elapsed < 180 else 'MISSED'}, {os.cpu_count()} cores)")


def run_all(py: str, course: Path, state: Path, env: dict[str, str], args: argparse.Namespace) -> list:
    n = args.n
    retreat = [py, "-m", "retreat.cli"]
    if args.dev_check_only:
        dev_check(retreat, course, env, 40)
        return [True]
    subprocess.run([*retreat, "list"], cwd=course, env=env, capture_output=True, check=True)  # fill the cache
    rows = []
    base_cmd = [py, "-c", "import click, yaml"]
    for cmd in ("next", "list"):
        t, b, ct, cb = side_by_side(lambda cmd=cmd: timed([*retreat, cmd], course, env),
                                    lambda: timed(base_cmd, course, env), n)
        rows.append((f"retreat {cmd} vs python -c 'import click, yaml'", t, b, ct, cb, 1.5))

    where = ("import json, sys; from retreat.course import Course; e = Course.find().exercise(sys.argv[1]); "
             "print(json.dumps([e.exercise, e.solution, e.tests]))")
    found = subprocess.run([py, "-c", where, args.item], cwd=course, env=env, capture_output=True, text=True,
                           check=True)
    ex_file, solution, tests = json.loads(found.stdout)
    # Grade the solution, so both sides run every test to the end.
    exercise_file = course / ex_file
    stub_text = exercise_file.read_text()
    exercise_file.write_text((course / solution).read_text())
    pytest_cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests]
    check_cmd = [*retreat, "check", args.item]

    def bare() -> tuple[float, float]:
        return timed(pytest_cmd, course, env)

    def stop_server() -> None:
        subprocess.run([*retreat, "server", "stop"], cwd=course, env=env, capture_output=True)

    bare()  # warm the file cache
    t, b, ct, cb = side_by_side(lambda: timed(check_cmd, course, env, state), bare, max(3, n // 2),
                                before_a=stop_server)
    rows.append((f"first retreat check {args.item} (starts the server) vs pytest {tests}", t, b, ct, cb, 1.1))
    timed(check_cmd, course, env, state)  # the server is up from here on
    t, b, ct, cb = side_by_side(lambda: timed(check_cmd, course, env, state), bare, n)
    rows.append((f"repeated retreat check {args.item} vs pytest {tests}", t, b, ct, cb, 0.2))
    samples = watch_latency(retreat, course, env, args.item, exercise_file, n)
    watch = statistics.median(samples)

    width = max(len(r[0]) for r in rows)
    print(f"{'comparison (median of ' + str(n) + ')':{width}}  {'this':>8}  {'baseline':>8}  "
          f"{'ratio':>6}  {'cpu ratio':>9}  target")
    for name, this, base, cpu_this, cpu_base, target in rows:
        ratio = this / base
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"{name:{width}}  {this:7.3f}s  {base:7.3f}s  {ratio:6.2f}  {cpu_this / cpu_base:9.2f}  "
              f"<= {target}x {verdict}")
    print(f"{'watch: save -> verdict (' + args.item + ')':{width}}  {watch:7.3f}s  "
          f"(min {min(samples):.3f} s, max {max(samples):.3f} s; target <= 0.3 s "
          f"{'ok' if watch <= 0.3 else 'MISSED'})")
    exercise_file.write_text(stub_text)  # dev check wants the course as shipped
    if not args.quick:
        dev_check(retreat, course, env, width)
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    return rows


if __name__ == "__main__":
    sys.exit(main())
