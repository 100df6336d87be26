"""Checks for rmsnorm-swiglu. The learner's code always gets clones of the inputs; the expected
values are computed from the untouched originals."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("rmsnorm-swiglu")


def reference_rmsnorm(dim, weight):
    ref = nn.RMSNorm(dim, eps=1e-6)
    with torch.no_grad():
        ref.weight.copy_(weight)
    return ref


def half_precision_reference(x, weight, eps=1e-6):
    """HuggingFace's recipe: normalise in float32, cast back to x.dtype, then multiply by weight."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


# ---- RMSNorm -----------------------------------------------------------------------------------

def test_rmsnorm_has_a_weight_of_ones():
    norm = ex.RMSNorm(12)
    assert isinstance(norm.weight, nn.Parameter), "RMSNorm.weight is an nn.Parameter"
    assert_equal(norm.weight.detach(), torch.ones(12),
                 "RMSNorm.weight starts as ones of shape (dim,)")
    assert norm.eps == 1e-6, "RMSNorm's default eps is 1e-6"


def test_rmsnorm_matches_torch_rmsnorm():
    norm = ex.RMSNorm(16)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(16))
    ref = reference_rmsnorm(16, norm.weight.detach())
    for shape in [(16,), (5, 16), (2, 7, 16)]:
        x = torch.randn(shape) * 3
        assert_close(norm(x.clone()), ref(x), f"RMSNorm matches nn.RMSNorm(dim, eps=1e-6) on shape {shape}")


def test_rmsnorm_eps_is_inside_the_square_root():
    # Tiny inputs: mean(x**2) is about 1e-6, the size of eps, so where eps goes matters.
    norm = ex.RMSNorm(8)
    ref = reference_rmsnorm(8, torch.ones(8))
    x = torch.randn(4, 8) * 1e-3
    assert_close(norm(x.clone()), ref(x), "RMSNorm adds eps to mean(x**2) before the square root")


def test_rmsnorm_output_has_unit_rms():
    norm = ex.RMSNorm(32)
    y = norm(torch.randn(6, 32) * 5 + 2)
    rms = y.pow(2).mean(dim=-1).sqrt()
    assert_close(rms, torch.ones(6), "with weight = 1 every output vector has root mean square 1",
                 atol=1e-4, rtol=1e-4)


def test_rmsnorm_ignores_the_scale_of_its_input():
    norm = ex.RMSNorm(10)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(10))
    x = torch.randn(3, 10)
    assert_close(norm(7.0 * x), norm(x.clone()), "RMSNorm(c * x) equals RMSNorm(x) for c > 0",
                 atol=1e-5, rtol=1e-5)


def test_rmsnorm_does_not_subtract_the_mean():
    # LayerNorm would map x and x + 5 to nearly the same output; RMSNorm must not.
    norm = ex.RMSNorm(6)
    ref = reference_rmsnorm(6, torch.ones(6))
    x = torch.randn(2, 6) + 5.0
    assert_close(norm(x.clone()), ref(x), "RMSNorm keeps the mean of x (it is not LayerNorm)")


def test_rmsnorm_leaves_its_input_unchanged():
    # In a Llama layer the same x feeds the norm and the residual: h = x + attn(norm(x)).
    norm = ex.RMSNorm(8)
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(3, 8).to(dtype)
        given = x.clone()
        norm.to(dtype)(given)
        assert_equal(given, x, f"RMSNorm never writes into its input ({dtype}; for float32, "
                     "x.float() is x itself, so an in-place op on it changes the caller's tensor)")


def test_rmsnorm_in_bfloat16_computes_in_float32_and_returns_bfloat16():
    norm = ex.RMSNorm(64)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(64) + 0.5)
    norm = norm.to(torch.bfloat16)  # as a checkpoint loaded in bfloat16: weight is bfloat16 too
    x = (torch.randn(4, 7, 64) * 3).to(torch.bfloat16)
    out = norm(x.clone())
    assert out.dtype == torch.bfloat16, \
        f"a bfloat16 RMSNorm on bfloat16 input returns bfloat16 (cast back to x.dtype), got {out.dtype}"
    # Multiplying by weight before or after the cast differs by one rounding: both are accepted.
    assert_close(out.float(), half_precision_reference(x, norm.weight.detach()).float(),
                 "bfloat16 RMSNorm equals: normalise in float32, cast to bfloat16, times weight",
                 atol=1e-2, rtol=1.6e-2)


def test_rmsnorm_in_float16_survives_large_and_tiny_inputs():
    # float16: 300**2 overflows to inf and (1e-4)**2 flushes to 0 unless the statistic is float32.
    norm = ex.RMSNorm(16).to(torch.float16)
    x = torch.stack([torch.randn(16) * 300, torch.randn(16) * 1e-4, torch.randn(16)]).to(torch.float16)
    out = norm(x.clone())
    assert out.dtype == torch.float16, f"a float16 RMSNorm on float16 input returns float16, got {out.dtype}"
    assert torch.isfinite(out).all(), "float16 RMSNorm stays finite for |x| around 300 (square in float32)"
    expected = half_precision_reference(x, norm.weight.detach())
    for row, what in enumerate(["|x| ~ 300 (x**2 overflows float16)", "|x| ~ 1e-4 (x**2 underflows float16)",
                                "|x| ~ 1"]):
        assert_close(out[row].float(), expected[row].float(),
                     f"float16 RMSNorm on inputs with {what} equals the float32 computation cast to float16",
                     atol=2e-3, rtol=2e-3)


def test_rmsnorm_gradients_match_torch():
    norm = ex.RMSNorm(9)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(9))
    ref = reference_rmsnorm(9, norm.weight.detach())
    x1 = torch.randn(4, 9, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    g = torch.randn(4, 9)
    (norm(x1) * g).sum().backward()
    (ref(x2) * g).sum().backward()
    assert_close(x1.grad, x2.grad, "the gradient of RMSNorm with respect to x matches nn.RMSNorm")
    assert_close(norm.weight.grad, ref.weight.grad,
                 "the gradient of RMSNorm with respect to weight matches nn.RMSNorm")


# ---- SwiGLU ------------------------------------------------------------------------------------

def test_swiglu_has_three_linear_layers_without_bias():
    mlp = ex.SwiGLU(8, 20)
    shapes = {"gate_proj": (20, 8), "up_proj": (20, 8), "down_proj": (8, 20)}
    for name, shape in shapes.items():
        layer = getattr(mlp, name, None)
        assert isinstance(layer, nn.Linear), f"SwiGLU.{name} is an nn.Linear"
        assert layer.bias is None, f"SwiGLU.{name} has no bias (bias=False)"
        assert tuple(layer.weight.shape) == shape, \
            f"SwiGLU.{name}.weight has shape {shape} (out_features, in_features)"
    n_params = sum(p.numel() for p in mlp.parameters())
    assert n_params == 3 * 8 * 20, "SwiGLU(dim, hidden) has 3 * dim * hidden parameters"


def test_swiglu_matches_the_formula():
    mlp = ex.SwiGLU(12, 32)
    x = torch.randn(2, 5, 12)
    wg, wu, wd = mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight
    expected = (F.silu(x @ wg.T) * (x @ wu.T)) @ wd.T
    assert_close(mlp(x.clone()), expected, "SwiGLU(x) equals down_proj(silu(gate_proj(x)) * up_proj(x))")


def test_swiglu_a_closed_gate_gives_zero():
    mlp = ex.SwiGLU(6, 10)
    with torch.no_grad():
        mlp.gate_proj.weight.zero_()
    out = mlp(torch.randn(3, 6))
    assert_close(out, torch.zeros(3, 6),
                 "with gate_proj = 0, silu(0) = 0 closes the gate: the output is 0")


def test_swiglu_acts_on_each_position_separately():
    mlp = ex.SwiGLU(8, 16)
    x = torch.randn(1, 6, 8)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    assert_close(mlp(x[:, perm]), mlp(x.clone())[:, perm],
                 "SwiGLU is position-wise: shuffling the tokens shuffles the outputs the same way")
