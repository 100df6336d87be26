"""The pytest plugin loaded in the grading child (and by the course's conftest).

It seeds every test, and when RETREAT_REPORT names a file it writes a structured report there:
one JSON line per collected test, per finished test and a final line with the run id. The parent
trusts a pass only when the final line is present, carries its run id, and lists every test passed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import pytest

ENV_REPORT = "RETREAT_REPORT"
ENV_RUN_ID = "RETREAT_RUN_ID"


def _torch_seed() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _torch_seed()
