"""Comparison helpers for course tests: a failure says which property broke and how the tensor is off.

    from retreat.testing import assert_close
    assert_close(out, expected, "softmax rows match torch.softmax")

The first line of a failure is the property; the lines after it are whichever facts apply:
shape, dtype or device mismatch; NaN or inf where none is expected; the largest error with its
index and both values; how many elements are off. The grader shows these lines to the learner.
"""

from __future__ import annotations

from typing import Any

import torch

import retreat.env as env
from retreat.errors import UsageProblem

DEVICES = ("cpu", "cuda")


class TensorMismatch(AssertionError):
    """An AssertionError carrying the facts of a tensor comparison as fields (for --json)."""

    def __init__(self, prop: str, facts: dict[str, Any], lines: list[str]) -> None:
        self.property = prop
        self.facts = facts
        super().__init__("\n".join([prop, *("  " + line for line in lines)]))


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def describe_mismatch(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float,
                      equal_nan: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Facts about how `actual` differs from `expected` (both tensors of one shape)."""
    facts: dict[str, Any] = {}
    lines: list[str] = []
    a = actual.detach().to("cpu", torch.float64) if actual.is_floating_point() or actual.is_complex() \
        else actual.detach().cpu().to(torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    a_bad = ~torch.isfinite(a)
    e_bad = ~torch.isfinite(e)
    unexpected = a_bad & ~e_bad
    if unexpected.any():
        idx = tuple(int(i) for i in unexpected.nonzero()[0])
        n_nan = int(torch.isnan(a[unexpected]).sum())
        n_inf = int(unexpected.sum()) - n_nan
        facts.update(nan=n_nan, inf=n_inf, first_nonfinite_index=list(idx))
        kinds = ", ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if s)
        lines.append(f"{kinds} where the expected values are finite; first at index {idx} "
                     f"(expected {_fmt(float(e[idx]))}) — look for exp() of large numbers, log(0) or 0/0")
    diff = (a - e).abs()
    both_same_nonfinite = (a_bad & e_bad) & ((a == e) | (torch.isnan(a) & torch.isnan(e) & equal_nan))
    diff = torch.where(both_same_nonfinite, torch.zeros_like(diff), diff)
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    allowed = atol + rtol * e.abs().nan_to_num(posinf=0.0, neginf=0.0)
    wrong = diff > allowed
    n_wrong, total = int(wrong.sum()), wrong.numel()
    if n_wrong:
        flat = int(torch.argmax(torch.where(wrong, diff, torch.zeros_like(diff))).item())
        worst = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape)) if diff.dim() else ()
        first = tuple(int(i) for i in wrong.nonzero()[0]) if diff.dim() else ()
        max_abs = float(diff[worst]) if diff.dim() else float(diff)
        rel = max_abs / max(abs(float(e[worst] if diff.dim() else e)), 1e-12)
        facts.update(mismatched=n_wrong, total=total, max_abs_error=max_abs, max_rel_error=rel,
                     worst_index=list(worst), first_index=list(first), atol=atol, rtol=rtol)
        lines.append(f"{n_wrong} of {total} elements differ (atol={atol:g}, rtol={rtol:g})")
        lines.append(f"largest error {_fmt(max_abs)} (relative {_fmt(rel)}) at index {worst}: "
                     f"expected {_fmt(float(e[worst] if diff.dim() else e))}, "
                     f"got {_fmt(float(a[worst] if diff.dim() else a))}")
        if first != worst:
            lines.append(f"first difference at index {first}: expected {_fmt(float(e[first]))}, "
                         f"got {_fmt(float(a[first]))}")
    return facts, lines


def assert_close(actual: Any, expected: Any, prop: str, *, rtol: float | None = None,
                 atol: float | None = None, check_dtype: bool = True, equal_nan: bool = False) -> None:
    """Assert `actual` matches `expected` (as torch.testing.assert_close); on failure, say `prop` and how.

    `prop` names the property in the learner's terms, e.g. "each row of softmax sums to 1".
    """
    if not isinstance(actual, torch.Tensor):
        if isinstance(expected, torch.Tensor):
            got = "None (did the function return anything?)" if actual is None else type(actual).__name__
            raise TensorMismatch(prop, {"type": type(actual).__name__},
                                 [f"expected a tensor of shape {tuple(expected.shape)}, got {got}"])
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, msg=lambda m: f"{prop}\n  {m}")
        return
    if not isinstance(expected, torch.Tensor):
        expected = torch.as_tensor(expected, dtype=actual.dtype)
    if actual.shape != expected.shape:
        raise TensorMismatch(prop, {"expected_shape": list(expected.shape), "actual_shape": list(actual.shape)},
                             [f"shape: expected {tuple(expected.shape)}, got {tuple(actual.shape)}"])
    if check_dtype and actual.dtype != expected.dtype:
        raise TensorMismatch(prop, {"expected_dtype": str(expected.dtype), "actual_dtype": str(actual.dtype)},
                             [f"dtype: expected {expected.dtype}, got {actual.dtype}"])
    if actual.device != expected.device:
        raise TensorMismatch(prop, {"expected_device": str(expected.device), "actual_device": str(actual.device)},
                             [f"device: expected {expected.device}, got {actual.device}"])
    try:
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                                   check_dtype=check_dtype)
    except AssertionError:
        # The tolerances torch chose for this dtype, so the report states what was allowed.
        from torch.testing._comparison import default_tolerances

        r, a = default_tolerances(actual, expected)
        facts, lines = describe_mismatch(actual, expected, r if rtol is None else rtol,
                                         a if atol is None else atol, equal_nan)
        raise TensorMismatch(prop, facts, lines or ["values differ"]) from None


def assert_equal(actual: Any, expected: Any, prop: str) -> None:
    """Exact equality (integer tensors, token ids, masks), reported like `assert_close`."""
    if isinstance(expected, torch.Tensor) or isinstance(actual, torch.Tensor):
        assert_close(actual, expected, prop, rtol=0.0, atol=0.0)
        return
    if actual != expected:
        raise TensorMismatch(prop, {"expected": repr(expected), "actual": repr(actual)},
                             [f"expected {expected!r}", f"got      {actual!r}"])


def device() -> torch.device:
    """The device to test on: `retreat check --device cuda` runs the checks on the GPU.

        x = torch.randn(4, 8, device=device())
    """
    return torch.device(env.get(env.DEVICE) or "cpu")


def require_device(name: str) -> None:
    """Raise `UsageProblem` (one line, exit 2) when `name` cannot run here."""
    if name not in DEVICES:
        raise UsageProblem(f"unknown device {name!r}; expected one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageProblem("--device cuda: this machine has no CUDA device that PyTorch can use "
                           f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA); "
                           "grade on the CPU (the default)")
