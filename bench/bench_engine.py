"""The engine's speed, as ratios measured side by side in one run (the machine is shared and noisy).

    python bench/bench_engine.py            # everything, including dev check over the whole course
    python bench/bench_engine.py --quick    # skip dev check

Each pair of commands is run alternately, several times, and compared by median wall time:
  next / list         vs  python -c "import click, yaml"         target <= 2x
  retreat check ID    vs  python -m pytest on the same test file target <= 1.15x
  watch save->verdict vs  a cold `retreat check ID`              target <= 0.25x
  retreat dev check over the whole course                       target < 180 s on 2 cores
Runs in a temporary copy of the course with its own state folder, so your progress is untouched.
"""

from __future__ import annotations

import argparse
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and everything it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def side_by_side(a: list[str], b: list[str], cwd: Path, env: dict[str, str], n: int) -> tuple[float, ...]:
    """Median wall and CPU times of `a` and `b`, run alternately so both see the same machine.

    CPU time (of the process tree) is reported beside wall time because it hardly moves when
    other work shares the cores; wall time is what a learner waits.
    """
    runs_a, runs_b = [], []
    timed(a, cwd, env), timed(b, cwd, env)  # warm the file cache
    for _ in range(n):
        runs_a.append(timed(a, cwd, env))
        runs_b.append(timed(b, cwd, env))
    med = statistics.median
    return med(r[0] for r in runs_a), med(r[0] for r in runs_b), med(r[1] for r in runs_a), med(r[1] for r in runs_b)


def copy_course(dest: Path) -> Path:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns(".venv", ".git", "site", ".retreat", "__pycache__", "test-artifacts")
    for name in ("roadmap.yaml", "my-roadmap.yaml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for name in ("roadmap", "exercises", "solutions", "tests", "support", "docs"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def watch_latency(course: Path, env: dict[str, str], item: str, exercise: Path, n: int) -> float:
    """Median time from a save to the verdict line in a running `retreat watch`."""
    proc = subprocess.Popen([PY, "-m", "retreat.cli", "watch", item, "--no-follow"], cwd=course, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def wait_verdict(timeout: float = 120) -> None:
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
        return statistics.median(samples)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip dev check over the whole course")
    parser.add_argument("-n", type=int, default=7, help="repetitions per pair (default 7)")
    parser.add_argument("--item", default="softmax", help="exercise for the check and watch timings")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="retreat-bench-") as tmp:
        course = copy_course(Path(tmp) / "course")
        env = dict(os.environ, RETREAT_HOME=str(Path(tmp) / "state"), NO_COLOR="1")
        env.pop("RETREAT_TARGET", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is cached on a learner's machine
        retreat = [PY, "-m", "retreat.cli"]
        subprocess.run([*retreat, "list"], cwd=course, env=env, capture_output=True, check=True)  # fill the cache
        rows = []
        base_cmd = [PY, "-c", "import click, yaml"]
        for cmd in ("next", "list"):
            t, b, ct, cb = side_by_side([*retreat, cmd], base_cmd, course, env, args.n)
            rows.append((f"retreat {cmd} vs python -c 'import click, yaml'", t, b, t / b, ct / cb, "<= 2"))

        sys.path.insert(0, str(ROOT))
        from retreat.course import Course

        ex = Course(course).exercise(args.item)
        # Grade the solution so both sides run every test to the end.
        exercise_file = course / ex.exercise
        stub_text = exercise_file.read_text()
        exercise_file.write_text((course / ex.solution).read_text())
        pytest_cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", ex.tests]
        t, b, ct, cb = side_by_side([*retreat, "check", args.item], pytest_cmd, course,
                                    dict(env, RETREAT_TARGET="exercise"), args.n)
        rows.append((f"retreat check {args.item} vs pytest {ex.tests}", t, b, t / b, ct / cb, "<= 1.15"))
        cold = t
        warm = watch_latency(course, env, args.item, exercise_file, args.n)
        rows.append((f"watch save->verdict vs cold retreat check ({args.item})", warm, cold, warm / cold, None,
                     "<= 0.25"))

        width = max(len(r[0]) for r in rows)
        print(f"{'comparison (median of ' + str(args.n) + ')':{width}}  {'this':>8}  {'baseline':>8}  "
              f"{'ratio':>6}  {'cpu ratio':>9}  target")
        for name, this, base, ratio, cpu, target in rows:
            cpu_text = f"{cpu:9.2f}" if cpu is not None else f"{'-':>9}"
            print(f"{name:{width}}  {this:7.3f}s  {base:7.3f}s  {ratio:6.2f}  {cpu_text}  {target}")
        exercise_file.write_text(stub_text)  # dev check wants the course as shipped
        if not args.quick:
            start = time.perf_counter()
            proc = subprocess.run([*retreat, "dev", "check"], cwd=course, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            summary = (proc.stdout.strip().splitlines() or ["?"])[-1]
            print(f"{'retreat dev check, whole course':{width}}  {elapsed:7.1f}s  ({summary}; target < 180 s, "
                  f"{os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
