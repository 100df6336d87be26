"""Plain `pytest` grades the reference solutions; the grader sets RETREAT_TARGET itself."""

import os

os.environ.setdefault("RETREAT_TARGET", "solution")

pytest_plugins = ["retreat.grading.plugin"]
