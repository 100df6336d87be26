"""Checks for activations-norms: torch.nn.functional as the oracle, plus symmetries, invariances and
half precision. Every call hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("activations-norms")
untouched = retreat.load_support("untouched")

HALF = (torch.bfloat16, torch.float16)


def test_gelu_tanh_matches_torch():
    x = torch.cat([torch.linspace(-8, 8, 161), torch.randn(100) * 3])
    assert_close(untouched.call(ex.gelu_tanh, x), F.gelu(x, approximate="tanh"),
                 'gelu_tanh matches F.gelu(x, approximate="tanh")')
    x64 = torch.randn(4, 5, dtype=torch.float64)
    assert_close(untouched.call(ex.gelu_tanh, x64), F.gelu(x64, approximate="tanh"),
                 "gelu_tanh keeps float64 and matches torch in float64")


def test_gelu_tanh_is_close_to_exact_gelu():
    x = torch.linspace(-6, 6, 241)
    assert_close(untouched.call(ex.gelu_tanh, x), F.gelu(x), "the tanh approximation is within 1e-3 of the exact GELU",
                 atol=1e-3, rtol=0.0)


def test_gelu_tanh_odd_part_is_identity():
    x = torch.randn(200) * 4
    assert_close(untouched.call(ex.gelu_tanh, x) - untouched.call(ex.gelu_tanh, -x), x,
                 "gelu_tanh(x) - gelu_tanh(-x) equals x", atol=1e-5, rtol=1e-5)


def test_silu_matches_torch():
    x = torch.cat([torch.linspace(-20, 20, 201), torch.randn(100) * 3])
    assert_close(untouched.call(ex.silu, x), F.silu(x), "silu matches F.silu")
    x = torch.tensor([-1e4, -100.0, 100.0, 1e4])
    assert_close(untouched.call(ex.silu, x), F.silu(x), "silu is finite and correct for inputs of +-1e4")


def test_silu_odd_part_is_identity():
    x = torch.randn(200) * 4
    assert_close(untouched.call(ex.silu, x) - untouched.call(ex.silu, -x), x, "silu(x) - silu(-x) equals x",
                 atol=1e-5, rtol=1e-5)


def test_layer_norm_matches_torch():
    x = torch.randn(2, 5, 8) * 3 + 1
    weight, bias = torch.randn(8), torch.randn(8)
    assert_close(untouched.call(ex.layer_norm, x, weight, bias), F.layer_norm(x, (8,), weight, bias, eps=1e-5),
                 "layer_norm over the last axis matches F.layer_norm")
    assert_close(untouched.call(ex.layer_norm, x, weight, bias, eps=0.1), F.layer_norm(x, (8,), weight, bias, eps=0.1),
                 "layer_norm with eps=0.1 matches F.layer_norm(eps=0.1)")


def test_layer_norm_on_nearly_constant_rows():
    x = torch.randn(4, 16, dtype=torch.float64) * 1e-3 + 5.0  # variance about 1e-6, below eps
    weight, bias = torch.ones(16, dtype=torch.float64), torch.zeros(16, dtype=torch.float64)
    assert_close(untouched.call(ex.layer_norm, x, weight, bias), F.layer_norm(x, (16,), weight, bias, eps=1e-5),
                 "layer_norm of nearly constant rows matches F.layer_norm (eps goes inside the sqrt)")


def test_layer_norm_gives_zero_mean_unit_variance():
    x = torch.randn(6, 32) * 4 - 2
    y = untouched.call(ex.layer_norm, x, torch.ones(32), torch.zeros(32))
    assert_close(y.mean(dim=-1), torch.zeros(6), "each normalised row has mean 0", atol=1e-5, rtol=0.0)
    assert_close(y.var(dim=-1, correction=0), torch.ones(6),
                 "each normalised row has (biased) variance 1", atol=1e-4, rtol=0.0)


def test_layer_norm_ignores_scale_and_shift_of_each_row():
    x = torch.randn(3, 4, 10)
    a = torch.rand(3, 4, 1) * 3 + 0.5
    b = torch.randn(3, 4, 1) * 10
    weight, bias = torch.randn(10), torch.randn(10)
    assert_close(untouched.call(ex.layer_norm, a * x + b, weight, bias), untouched.call(ex.layer_norm, x, weight, bias),
                 "scaling a row by a > 0 and shifting it by b does not change its layer norm",
                 atol=1e-4, rtol=1e-4)


def test_layer_norm_gradient_matches_torch():
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 6, dtype=torch.float64)
    mine = [t.detach().clone().requires_grad_(True) for t in (x, weight, bias)]  # the learner's copies
    ours = torch.autograd.grad((ex.layer_norm(*mine) * g).sum(), mine)
    theirs = torch.autograd.grad((F.layer_norm(x, (6,), weight, bias) * g).sum(), (x, weight, bias))
    for name, a, e in zip(("x", "weight", "bias"), ours, theirs, strict=True):
        assert_close(a, e, f"the gradient of layer_norm w.r.t. {name} matches F.layer_norm's")


def test_gelu_tanh_in_half_precision():
    x = torch.cat([torch.linspace(-8, 8, 161), torch.randn(500) * 3])
    for dtype in HALF:
        xh = x.to(dtype)
        assert_close(untouched.call(ex.gelu_tanh, xh), F.gelu(xh.float(), approximate="tanh").to(dtype),
                     f"gelu_tanh of {dtype} input is computed in float32 and returned as {dtype} "
                     "(in half precision 1 + tanh(...) cancels for negative inputs)")


def test_silu_keeps_half_precision():
    x = torch.randn(300) * 4
    for dtype in HALF:
        xh = x.to(dtype)
        assert_close(untouched.call(ex.silu, xh), F.silu(xh.float()).to(dtype),
                     f"silu of {dtype} input is {dtype} and matches F.silu")


def test_layer_norm_in_half_precision():
    g = torch.Generator().manual_seed(4)
    C = 64
    cases = {  # dtype: (input, tolerance of a few roundings, so weight and bias may come after the cast)
        torch.bfloat16: (torch.randn(3, 5, C, generator=g) * 0.05 + 5.0, 3e-2),  # small deviations, offset
        torch.float16: (torch.randn(3, 5, C, generator=g) * 400.0, 4e-3),  # squares above 65504
    }
    weight, bias = torch.randn(C, generator=g), torch.randn(C, generator=g)
    for dtype, (x, tol) in cases.items():
        xh, wh, bh = x.to(dtype), weight.to(dtype), bias.to(dtype)
        expected = F.layer_norm(xh.float(), (C,), wh.float(), bh.float(), eps=1e-5).to(dtype)
        assert_close(untouched.call(ex.layer_norm, xh, wh, bh), expected,
                     f"layer_norm of {dtype} input (and {dtype} weight and bias) is normalised in float32 "
                     f"and returned as {dtype}", atol=tol, rtol=tol)
