"""Checks for softmax: torch's own ops as the oracle, plus shift invariance, large logits and half
precision. Every call hands the learner copies of its inputs (support/untouched.py)."""

import torch

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("softmax")
untouched = retreat.load_support("untouched")

FUNCTIONS = {"softmax": torch.softmax, "log_softmax": torch.log_softmax, "logsumexp": torch.logsumexp}


def test_softmax_matches_torch_on_every_axis():
    x = torch.randn(3, 4, 5)
    for dim in (-1, 0, 1, 2):
        assert_close(untouched.call(ex.softmax, x, dim=dim), torch.softmax(x, dim=dim),
                     f"softmax(x, dim={dim}) matches torch.softmax(x, dim={dim})")


def test_log_softmax_matches_torch_on_every_axis():
    x = torch.randn(3, 4, 5) * 3
    for dim in (-1, 0, 1):
        assert_close(untouched.call(ex.log_softmax, x, dim=dim), torch.log_softmax(x, dim=dim),
                     f"log_softmax(x, dim={dim}) matches torch.log_softmax(x, dim={dim})")


def test_logsumexp_matches_torch_and_removes_the_axis():
    x = torch.randn(3, 4, 5) * 3
    for dim in (-1, 0, 1):
        assert_close(untouched.call(ex.logsumexp, x, dim=dim), torch.logsumexp(x, dim=dim),
                     f"logsumexp(x, dim={dim}) matches torch.logsumexp(x, dim={dim}), axis removed")


def test_default_axis_is_the_last():
    x = torch.randn(2, 3, 7)
    assert_close(untouched.call(ex.softmax, x), torch.softmax(x, dim=-1), "softmax(x) normalises the last axis")
    assert_close(untouched.call(ex.log_softmax, x), torch.log_softmax(x, dim=-1),
                 "log_softmax(x) normalises the last axis")
    assert_close(untouched.call(ex.logsumexp, x), torch.logsumexp(x, dim=-1), "logsumexp(x) reduces the last axis")


def test_rows_sum_to_one_and_are_positive():
    x = torch.randn(8, 50) * 5
    p = untouched.call(ex.softmax, x, dim=-1)
    assert_close(p.sum(dim=-1), torch.ones(8), "each row of softmax sums to 1")
    assert bool((p >= 0).all()), "softmax probabilities are never negative"


def test_shift_invariance():
    x = torch.randn(4, 6)
    c = torch.randn(4, 1) * 100  # a different constant for every row
    assert_close(untouched.call(ex.softmax, x + c, dim=-1), untouched.call(ex.softmax, x, dim=-1),
                 "adding a constant to a row of logits leaves its softmax unchanged", atol=1e-5,
                 rtol=1e-4)
    assert_close(untouched.call(ex.log_softmax, x + c, dim=-1), untouched.call(ex.log_softmax, x, dim=-1),
                 "adding a constant to a row of logits leaves its log_softmax unchanged",
                 atol=1e-4, rtol=1e-4)
    assert_close(untouched.call(ex.logsumexp, x + c, dim=-1), untouched.call(ex.logsumexp, x, dim=-1) + c.squeeze(-1),
                 "logsumexp(x + c) equals logsumexp(x) + c", atol=1e-4, rtol=1e-5)


def test_finite_for_huge_logits():
    x = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, -1e4 + 2.0], [1e4, 1e4, 1e4 - 3.0]])
    p = untouched.call(ex.softmax, x, dim=-1)
    assert bool(torch.isfinite(p).all()), "softmax stays finite for logits of +-1e4"
    assert_close(p, torch.softmax(x, dim=-1), "softmax of logits near +-1e4 matches torch.softmax")
    lse = untouched.call(ex.logsumexp, x, dim=-1)
    assert bool(torch.isfinite(lse).all()), "logsumexp stays finite for logits of +-1e4"
    assert_close(lse, torch.logsumexp(x, dim=-1), "logsumexp of logits near +-1e4 matches torch")
    assert_close(untouched.call(ex.log_softmax, x, dim=-1), torch.log_softmax(x, dim=-1),
                 "log_softmax of logits near +-1e4 matches torch.log_softmax")


def test_keeps_float64():
    x = torch.randn(5, 9, dtype=torch.float64)
    assert_close(untouched.call(ex.softmax, x, dim=0), torch.softmax(x, dim=0),
                 "softmax of float64 input is float64 and matches torch")
    assert_close(untouched.call(ex.log_softmax, x, dim=0), torch.log_softmax(x, dim=0),
                 "log_softmax of float64 input is float64 and matches torch")


def test_half_precision_is_computed_in_float32_and_keeps_its_dtype():
    # 70,000 equal logits: the sum of their exponentials (70,000) is inf in float16.
    g = torch.Generator().manual_seed(0)
    wide = torch.randn(2, 70_000, generator=g) * 0.01
    for dtype in (torch.float16, torch.bfloat16):
        x = wide.to(dtype)
        for name, reference in FUNCTIONS.items():
            expected = reference(x.float(), dim=-1).to(dtype)  # computed in float32, rounded once
            assert_close(untouched.call(getattr(ex, name), x, dim=-1), expected,
                         f"{name} of {dtype} logits over 70,000 tokens is computed in float32 and returned "
                         f"as {dtype} (a float16 sum of 70,000 ones overflows to inf)")


def test_small_half_precision_inputs_keep_their_dtype():
    x = torch.randn(3, 10).to(torch.bfloat16)
    for name, reference in FUNCTIONS.items():
        assert_close(untouched.call(getattr(ex, name), x, dim=0), reference(x.float(), dim=0).bfloat16(),
                     f"{name} of bfloat16 input is bfloat16 (cast back after computing in float32)")
