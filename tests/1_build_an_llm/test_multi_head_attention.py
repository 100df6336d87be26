"""Checks for multi-head-attention: nn.MultiheadAttention with copied weights as the oracle. Every call
hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("multi-head-attention")
untouched = retreat.load_support("untouched")


def torch_twin(mha, bias=True):
    """An nn.MultiheadAttention holding the same weights as `mha` (fused q, k, v projection)."""
    ref = nn.MultiheadAttention(mha.d_model, mha.n_heads, bias=bias, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mha.qkv_proj.weight)
        ref.out_proj.weight.copy_(mha.out_proj.weight)
        if bias:
            ref.in_proj_bias.copy_(mha.qkv_proj.bias)
            ref.out_proj.bias.copy_(mha.out_proj.bias)
    return ref.eval()


def test_causal_matches_nn_multihead_attention():
    mha = ex.MultiHeadAttention(d_model=16, n_heads=4)
    x = torch.randn(2, 7, 16)
    blocked = torch.ones(7, 7, dtype=torch.bool).triu(1)  # nn.MultiheadAttention: True = blocked
    expected, _ = torch_twin(mha)(x, x, x, attn_mask=blocked, need_weights=False)
    assert_close(untouched.call(mha, x), expected,
                 "causal multi-head attention matches nn.MultiheadAttention with the same weights")


def test_full_attention_matches_nn_multihead_attention():
    mha = ex.MultiHeadAttention(d_model=12, n_heads=3, causal=False)
    x = torch.randn(3, 5, 12)
    expected, _ = torch_twin(mha)(x, x, x, need_weights=False)
    assert_close(untouched.call(mha, x), expected,
                 "with causal=False, multi-head attention matches nn.MultiheadAttention (no mask)")


def test_without_bias_matches_nn_multihead_attention():
    mha = ex.MultiHeadAttention(d_model=16, n_heads=2, causal=False, bias=False)
    n_params = sum(p.numel() for p in mha.parameters())
    assert n_params == 4 * 16 * 16, f"bias=False leaves 4 * d_model^2 = 1024 parameters, found {n_params}"
    x = torch.randn(2, 6, 16)
    expected, _ = torch_twin(mha, bias=False)(x, x, x, need_weights=False)
    assert_close(untouched.call(mha, x), expected,
                 "with bias=False, multi-head attention matches nn.MultiheadAttention")


def test_stacked_single_heads_equal_batched_heads():
    d_model, n_heads, T = 12, 3, 5
    hs = d_model // n_heads
    mha = ex.MultiHeadAttention(d_model, n_heads)
    x = torch.randn(2, T, d_model)
    W, b = mha.qkv_proj.weight, mha.qkv_proj.bias
    heads = []
    for h in range(n_heads):
        # Head h owns rows h*hs..(h+1)*hs of each of the q, k and v blocks of the fused weight.
        rows = [slice(part * d_model + h * hs, part * d_model + (h + 1) * hs) for part in range(3)]
        q, k, v = (F.linear(x, W[r], b[r]) for r in rows)  # each (B, T, hs)
        heads.append(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    expected = mha.out_proj(torch.cat(heads, dim=-1))  # heads side by side, then mixed
    assert_close(untouched.call(mha, x), expected,
                 "running each head on its own slice of q, k, v and concatenating equals the batched heads")


def test_changing_token_t_never_changes_outputs_before_t():
    mha = ex.MultiHeadAttention(d_model=16, n_heads=4)
    x = torch.randn(1, 9, 16)
    t = 4
    x2 = x.clone()
    x2[:, t] += 1.0
    out, out2 = untouched.call(mha, x), untouched.call(mha, x2)
    assert_equal(out2[:, :t], out[:, :t], f"outputs before position {t} did not change when token {t} changed")
    assert not torch.allclose(out2[:, t:], out[:, t:]), f"outputs from position {t} on depend on token {t}"


def test_shape_and_gradients():
    mha = ex.MultiHeadAttention(d_model=8, n_heads=2)
    x = torch.randn(4, 3, 8, requires_grad=True)
    y = untouched.call(mha, x)
    assert tuple(y.shape) == (4, 3, 8), f"output shape is (B, T, d_model) = (4, 3, 8), got {tuple(y.shape)}"
    y.sum().backward()
    assert all(p.grad is not None for p in mha.parameters()), "every parameter receives a gradient"
