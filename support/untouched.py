"""Call a learner's function on copies of its inputs, and fail if it changed them.

A function that overwrites its input (`x -= x.max()`, `targets[~keep] = 0`, `prompt += response`)
corrupts the caller's data, and a test that computes its oracle from the same tensor afterwards
would compare against the corrupted data and pass. So every course test calls the learner through
`call`:

    untouched = retreat.load_support("untouched")
    out = untouched.call(ex.softmax, x, dim=0)       # ex.softmax sees a copy of x
    assert_close(out, torch.softmax(x, dim=0), ...)  # the oracle sees the original x

`call` copies every tensor, list, tuple and dict among the arguments (nn.Modules, generators,
strings and numbers are passed as they are), calls the function on the copies, and raises an
AssertionError naming the argument if a copy differs from the original afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch


def copy_of(value: Any) -> Any:
    """A deep copy of tensors and of lists, tuples and dicts holding them; anything else as is."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, list):
        return [copy_of(v) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_of(v) for v in value)
    if isinstance(value, dict):
        return {k: copy_of(v) for k, v in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """True when `a` and `b` hold the same values (NaN equals NaN), shapes and dtypes included."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.detach(), b.detach()
        equal = a == b
        if a.is_floating_point() or a.is_complex():
            equal |= torch.isnan(a) & torch.isnan(b)
        return bool(equal.all())
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a is b or a == b


def _names(fn: Callable, n_args: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"#{i + 1}" for i in range(n_args)]


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on copies of the arguments; fails if fn changed one of them."""
    copies = [copy_of(a) for a in args]
    kw_copies = {k: copy_of(v) for k, v in kwargs.items()}
    out = fn(*copies, **kw_copies)
    name = getattr(fn, "__name__", None) or type(fn).__name__
    labelled = [*zip(_names(fn, len(args)), args, copies, strict=True),
                *((k, kwargs[k], kw_copies[k]) for k in kwargs)]
    for arg, original, copy in labelled:
        if not same(copy, original):
            raise AssertionError(
                f"{name} leaves its inputs unchanged\n  it changed its argument `{arg}` in place: "
                "work on new tensors (x = x - m, not x -= m; a + b, not a += b for lists)")
    return out
