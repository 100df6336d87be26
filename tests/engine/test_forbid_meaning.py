"""Forbidden calls by meaning, not spelling: a `forbid:` entry rules out every callable that computes
the same thing (modules, classes, tensor methods, torch._C bindings, torch.ops.aten operators) and
its one-step equivalents (softmin(-x), exp(log_softmax(x))), and the run-time guard looks at the
whole call stack for the learner's file, so a helper that calls the op is caught and the tests'
oracle calls are not."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from retreat.course import Course
from retreat.grading.forbid import MEANINGS, expand, forbidden_uses, scan_source
from retreat.grading.runner import Job, run_job

SOFTMAX = ["torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax"]
ATTENTION = ["torch.nn.functional.scaled_dot_product_attention"]

# (how the learner wrote it, the file's body, the forbid list): each must fail in one line.
SHORTCUTS = [
    ("nn.Softmax()(x)", "from torch import nn\n\n\ndef softmax(x):\n    return nn.Softmax(dim=-1)(x)\n", SOFTMAX),
    ("torch.special.softmax", "import torch\n\n\ndef softmax(x):\n    return torch.special.softmax(x, -1)\n",
     SOFTMAX),
    ("F.softmin(-x)", "import torch.nn.functional as F\n\n\ndef softmax(x):\n    return F.softmin(-x, dim=-1)\n",
     SOFTMAX),
    ("x.softmax(-1)", "def softmax(x):\n    return x.softmax(-1)\n", SOFTMAX),
    ("torch._C._nn.scaled_dot_product_attention",
     "import torch\n\n\ndef attention(q, k, v):\n    return torch._C._nn.scaled_dot_product_attention(q, k, v, "
     "is_causal=True)\n", ATTENTION),
    ("torch.ops.aten._scaled_dot_product_attention_math",
     "import torch\n\n\ndef attention(q, k, v):\n    return torch.ops.aten._scaled_dot_product_attention_math("
     "q, k, v, is_causal=True)[0]\n", ATTENTION),
]
MORE_SPELLINGS = {  # caught by the scan as well
    "log_softmax, then exp": "import torch\ny = torch.log_softmax(x, -1).exp()\n",
    "an operator overload": "import torch\ny = torch.ops.aten._softmax.default(x, -1, False)\n",
    "getattr with a constant": "import torch\ny = getattr(torch, 'soft' + 'max')(x, -1)\n",
    "a module's __dict__": "import torch\ny = torch.__dict__['softmax'](x, -1)\n",
    "importlib": "import importlib\ny = importlib.import_module('torch.nn.functional').softmax(x, -1)\n",
    "an internal binding": "import torch\ny = torch._C._VariableFunctions.softmax(x, -1)\n",
    "the tensor base class": "import torch\ny = torch._C.TensorBase.softmax(x, -1)\n",
    "an aliased import": "from torch.special import softmax as s\ny = s(x, -1)\n",
    "scipy": "from scipy.special import softmax\n",
    "the log_softmax module": "from torch import nn\nm = nn.LogSoftmax(-1)\n",
}
OWN = ("import torch\n\n\ndef softmax(x):\n    e = (x - x.amax(-1, keepdim=True)).exp()\n    return e / e.sum(-1, "
       "keepdim=True)\n\n\ndef log_softmax(x):\n    return softmax(x).log()\n")


@pytest.mark.parametrize("how, body, forbid", SHORTCUTS, ids=[s[0] for s in SHORTCUTS])
def test_the_scan_names_every_spelling_in_one_line(how: str, body: str, forbid: list[str]) -> None:
    message = forbidden_uses(body, forbid, "exercises/basics/05_x.py")
    assert message is not None and message.startswith("exercises/basics/05_x.py:"), how
    assert "\n" not in message and "write it yourself" in message


@pytest.mark.parametrize("how", list(MORE_SPELLINGS))
def test_the_scan_sees_through_other_spellings(how: str) -> None:
    assert scan_source(MORE_SPELLINGS[how], SOFTMAX), how


def test_the_learners_own_softmax_is_not_a_forbidden_call() -> None:
    assert scan_source(OWN, SOFTMAX + ["torch.log_softmax", "torch.logsumexp"]) == []


def test_an_entry_forbids_its_meaning_and_its_equivalents_and_keeps_its_name() -> None:
    spellings = expand(["torch.softmax"])
    for name in ("torch.nn.Softmax", "torch.special.softmax", "torch.nn.functional.softmin", "torch.log_softmax",
                 "torch._C._VariableFunctions.softmax", "torch.ops.aten._softmax"):
        assert spellings[name].entry == "torch.softmax", name
    assert "torch.logsumexp" not in spellings  # a building block, not the same thing
    assert expand(["torch.nn.functional.softmax", "torch.softmax"])["torch.softmax"].entry == "torch.softmax"
    assert set(expand(["operator.add"])) == {"operator.add"}  # an entry no meaning lists forbids itself


def test_every_spelling_in_the_table_exists_in_the_installed_libraries() -> None:
    """The table is read by the guard at run time: a spelling that names nothing is a mistake."""
    import torch  # noqa: F401

    missing = []
    for meaning in MEANINGS.values():
        for spelling in meaning.spellings:
            top = spelling.split(".")[0]
            if importlib.util.find_spec(top) is None:
                continue  # scipy or sklearn not installed here
            if not _resolves(spelling):
                missing.append(spelling)
    assert not missing, missing
    for meaning in MEANINGS.values():
        assert all(e in MEANINGS for e in meaning.equivalents), meaning.name


def _resolves(dotted: str) -> bool:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return callable(obj)
    return False


# -- the run-time guard, in a child of its own (it patches torch) --------------------------------------
GUARDED = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from retreat.grading.forbid import ForbiddenCall, install_guards
install_guards(json.loads(sys.argv[2]), sys.argv[1] + "/learner.py")
import torch
import learner
x, q = torch.randn(2, 4), torch.randn(1, 2, 3, 4)
out = {}
for name in sorted(n for n in dir(learner) if n.startswith(("via_", "own"))):
    try:
        getattr(learner, name)(q if "attention" in name else x)
        out[name] = "ran"
    except ForbiddenCall as exc:
        out[name] = str(exc)
# The tests' own oracles, from a file that is not the learner's:
torch.softmax(x, -1); x.softmax(-1); torch.nn.Softmax(-1)(x); torch.special.softmax(x, -1)
torch.nn.functional.scaled_dot_product_attention(q, q, q); torch.ops.aten._softmax.default(x, -1, False)
out["oracles"] = "ran"
print(json.dumps(out))
"""
LEARNER = """\
import torch
import torch.nn.functional as F
from torch import nn

import helper


def via_module(x): return nn.Softmax(dim=-1)(x)
def via_special(x): return torch.special.softmax(x, -1)
def via_softmin(x): return F.softmin(-x, -1)
def via_method(x): return x.softmax(-1)
def via_helper_in_another_file(x): return helper.my_softmax(x)
def via_torch_helper(x): return F.gumbel_softmax(x, tau=1.0)
def via_hidden_name(x): return getattr(torch, "soft" + "max")(x, -1)
def via_operator(x): return torch.ops.aten._softmax(x, -1, False)
def via_operator_overload(x): return torch.ops.aten._softmax.default(x, -1, False)
def via_log_softmax(x): return torch.log_softmax(x, -1).exp()
def via_functional_dict(x): return F.__dict__["softmax"](x, -1)
def via_attention_binding(q): return torch._C._nn.scaled_dot_product_attention(q, q, q)
def via_attention_operator(q): return torch.ops.aten._scaled_dot_product_attention_math(q, q, q)[0]
def via_attention_module(q): return nn.MultiheadAttention(4, 1)
def own(x):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)
"""


def test_the_guard_catches_every_reachable_spelling_anywhere_below_the_learners_code(tmp_path: Path) -> None:
    (tmp_path / "learner.py").write_text(LEARNER)
    (tmp_path / "helper.py").write_text("import torch\n\n\ndef my_softmax(x):\n    return torch.softmax(x, -1)\n")
    done = subprocess.run([sys.executable, "-c", GUARDED, str(tmp_path), json.dumps(SOFTMAX + ATTENTION)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out.pop("own") == "ran" and out.pop("oracles") == "ran"
    lines = {name: n for n, line in enumerate(LEARNER.splitlines(), 1) for name in out if f"def {name}(" in line}
    for name, message in out.items():
        assert message.startswith(f"line {lines[name]} "), (name, message)
        assert "write it yourself" in message, (name, message)


# -- end to end, through the grader ---------------------------------------------------------------------
EXERCISES = """\
      - id: softmax
        title: Softmax
        exercise: exercises/basics/05_softmax.py
        solution: solutions/basics/05_softmax.py
        tests: tests/basics/test_softmax.py
        optional: true
        timeout: 120
        forbid: [torch.softmax, torch.nn.functional.softmax, torch.Tensor.softmax]
      - id: attention
        title: Causal attention
        exercise: exercises/basics/06_attention.py
        solution: solutions/basics/06_attention.py
        tests: tests/basics/test_attention.py
        optional: true
        timeout: 120
        forbid: [torch.nn.functional.scaled_dot_product_attention]
"""
SOFTMAX_TESTS = """\
import torch

import retreat
from retreat.testing import assert_close


def test_rows_match_torch_softmax():
    x = torch.randn(4, 7)
    got = retreat.load_exercise("softmax").softmax(x.clone())
    assert_close(got, torch.softmax(x, -1), "softmax matches torch.softmax")
"""
ATTENTION_TESTS = """\
import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close


def test_matches_causal_sdpa():
    q, k, v = (torch.randn(1, 2, 5, 4) for _ in range(3))
    got = retreat.load_exercise("attention").attention(q.clone(), k.clone(), v.clone())
    assert_close(got, F.scaled_dot_product_attention(q, k, v, is_causal=True), "causal attention output")
"""
ATTENTION_SOLUTION = """\
import math

import torch


def attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    n = q.shape[-2]
    s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    e = (s - s.amax(-1, keepdim=True)).exp()
    return (e / e.sum(-1, keepdim=True)) @ v
"""


@pytest.fixture
def torch_course(course_dir: Path) -> Path:
    """The fixture course with two torch exercises that forbid softmax and attention."""
    roadmap = course_dir / "roadmap.yaml"
    roadmap.write_text(roadmap.read_text() + EXERCISES)
    for name, text in (("05_softmax.py", OWN), ("06_attention.py", ATTENTION_SOLUTION)):
        (course_dir / "solutions/basics" / name).write_text(text)
        (course_dir / "exercises/basics" / name).write_text(text)
    (course_dir / "tests/basics/test_softmax.py").write_text(SOFTMAX_TESTS)
    (course_dir / "tests/basics/test_attention.py").write_text(ATTENTION_TESTS)
    return course_dir


def _grade(root: Path, item: str):
    course = Course(root)
    return run_job(course, Job(course.exercise(item)))


@pytest.mark.parametrize("how, body, forbid", SHORTCUTS, ids=[s[0] for s in SHORTCUTS])
def test_each_shortcut_fails_the_check_in_one_line(torch_course: Path, how: str, body: str,
                                                  forbid: list[str]) -> None:
    item, name = ("softmax", "05_softmax.py") if forbid is SOFTMAX else ("attention", "06_attention.py")
    (torch_course / "exercises/basics" / name).write_text(body)
    v = _grade(torch_course, item)
    assert not v.ok and v.problem_kind == "forbidden", (how, v)
    assert v.problem.startswith(f"exercises/basics/{name}:") and "\n" not in v.problem, v.problem


def test_a_helper_in_another_file_is_caught_and_the_tests_oracle_is_not(torch_course: Path) -> None:
    assert _grade(torch_course, "softmax").ok  # the tests call torch.softmax themselves: no false alarm
    (torch_course / "exercises/basics/my_helpers.py").write_text(
        "import torch\n\n\ndef normalise(x):\n    return torch.softmax(x, -1)\n")
    (torch_course / "exercises/basics/05_softmax.py").write_text(
        "import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).parent))\n"
        "import my_helpers  # noqa: E402\n\n\ndef softmax(x):\n    return my_helpers.normalise(x)\n")
    v = _grade(torch_course, "softmax")
    assert not v.ok and v.tests[0].kind == "forbidden", v
    assert v.tests[0].message.startswith("line 9 calls torch.softmax"), v.tests[0].message


def test_the_attention_solution_passes_with_its_oracle(torch_course: Path) -> None:
    assert _grade(torch_course, "attention").ok
