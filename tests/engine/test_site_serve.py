"""`retreat docs serve`'s core: the live site follows edits to roadmap.yaml and the learner's
progress."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from site_helpers import make_site_course

from retreat.course import Course
from retreat.errors import RetreatError
from retreat.learner.progress import Progress
from retreat.site.commands import serve_site

SERVE = """
import sys
from pathlib import Path
from retreat.course import Course
from retreat.site.commands import serve_site
serve_site(Course(Path(sys.argv[1])), dev_addr=sys.argv[2])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # 127.0.0.1 only
            return r.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_serve_follows_roadmap_edits_and_progress(tmp_path: Path) -> None:
    root = make_site_course(tmp_path / "course")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(root), f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy(),
                            start_new_session=True)
    try:
        page = _until(lambda: _get(base + "basics/dot-product/"), 90, "the site to be served")
        assert "The dot product" in page
        roadmap = root / "roadmap.yaml"
        roadmap.write_text(roadmap.read_text().replace("title: The dot product",
                                                       "title: The inner product"))
        _until(lambda: "The inner product" in (_get(base + "basics/dot-product/") or ""), 60,
               "the page to show the new title after roadmap.yaml changed")
        assert "Nothing recorded yet" in (_get(base + "progress/") or "")
        progress = Progress(Course(root).state_dir)
        progress.record_attempt("dot-product", started=time.time(), duration=1.0, passed=3, total=3,
                                ok=True, file_hash=None, outcome="passed")
        progress.close()
        _until(lambda: "Nothing recorded yet" not in (_get(base + "progress/") or "Nothing recorded yet"),
               60, "the progress page to follow a passed check while the server runs")
        assert proc.poll() is None, "the server keeps running"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_serve_on_a_busy_address_is_one_line(tmp_path: Path) -> None:
    course = Course(make_site_course(tmp_path / "course"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RetreatError) as err:
            serve_site(course, dev_addr=f"127.0.0.1:{port}")
    assert "\n" not in str(err.value) and str(port) in str(err.value)
