"""`retreat watch` driven by real file edits, in a real process, grading on the course's grading server."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class Watch:
    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "retreat.cli", "watch", *args], cwd=root,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 90) -> float:
        """Wait until a line containing `text` appears; return how long it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return time.monotonic() - start
        raise AssertionError(f"{text!r} did not appear; output so far:\n{''.join(self.seen)}")

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def save_by_rename(path: Path, text: str) -> None:
    """Save the way many editors do: write a new file, then rename it over the old one."""
    tmp = path.with_name(path.name + ".swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_watch_rechecks_on_save_contains_a_hang_and_follows_on(course_dir: Path) -> None:
    target = course_dir / "exercises/basics/03_spin.py"
    watch = Watch(course_dir, "spin")
    try:
        watch.wait_for("not yet")
        target.write_text("while True:\n    pass\n")  # an edit that hangs at import
        watch.wait_for("did not finish within 8 s")
        save_by_rename(target, (course_dir / "solutions/basics/03_spin.py").read_text())
        watch.wait_for("spin passed")
        watch.wait_for("Watching exercises/basics/01_add.py")  # it follows to the next exercise
        watch.wait_for("not yet")
    finally:
        watch.close()


def test_watch_grades_like_check_a_missing_file_is_a_verdict_not_the_end(course_dir: Path) -> None:
    target = course_dir / "exercises/basics/01_add.py"
    target.unlink()
    watch = Watch(course_dir, "add", "--no-follow")
    try:
        watch.wait_for("01_add.py is missing; 'retreat reset add' restores the stub")
        watch.wait_for("watching for saves")
        time.sleep(1.0)  # the verdict needs no worker, so it can come before the folder is watched
        save_by_rename(target, (course_dir / "solutions/basics/01_add.py").read_text())
        watch.wait_for("add passed")
    finally:
        watch.close()


def test_watch_survives_garbage_on_its_grading_channel_and_a_killed_server(course_dir: Path, hermetic: Path) -> None:
    """Issue 16: one non-JSON line on the channel once crashed watch with a traceback. Now it fails that
    check in one line, and the watch goes on; a killed server is replaced at the next save."""
    from engine_helpers import grading_servers
    from test_server import FakeServer

    from retreat.grading.client import PROTOCOL, place

    target = course_dir / "exercises/basics/01_add.py"
    fake = FakeServer(place(hermetic, course_dir).socket, [f'{{"hello": {PROTOCOL}}}\n'.encode(), b"garbage\n"])
    watch = Watch(course_dir, "add", "--no-follow")
    try:
        watch.wait_for("answer was not understood; the check is not trusted")
        watch.wait_for("watching for saves")
        fake.close()
        place(hermetic, course_dir).socket.unlink()
        save_by_rename(target, (course_dir / "solutions/basics/01_add.py").read_text())
        watch.wait_for("add passed")
        (server,) = grading_servers(hermetic)
        os.kill(server, signal.SIGKILL)
        save_by_rename(target, "def add(a, b):\n    return a - b\n")
        watch.wait_for("add(2, 3) should be 5")
        assert len(grading_servers(hermetic)) == 1 and grading_servers(hermetic) != [server]
        assert not any("Traceback" in line for line in watch.seen), "".join(watch.seen)
    finally:
        watch.close()
