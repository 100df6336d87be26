"""Checks for gqa. The learner's code always gets clones of the inputs; the expected values are
computed from the untouched originals."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("gqa")


def sdpa_reference(attn, x):
    """The module's own projections, attention by PyTorch (enable_gqa groups heads as HF does)."""
    B, T, _ = x.shape
    H, G, hs = attn.n_heads, attn.n_kv_heads, attn.head_dim
    q = (x @ attn.q_proj.weight.T).view(B, T, H, hs).transpose(1, 2)
    k = (x @ attn.k_proj.weight.T).view(B, T, G, hs).transpose(1, 2)
    v = (x @ attn.v_proj.weight.T).view(B, T, G, hs).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return out.transpose(1, 2).reshape(B, T, H * hs) @ attn.o_proj.weight.T


# ---- repeat_kv ---------------------------------------------------------------------------------

def test_repeat_kv_matches_repeat_interleave():
    x = torch.randn(2, 3, 5, 4)
    for n_rep in [1, 2, 4]:
        out = ex.repeat_kv(x.clone(), n_rep)
        assert_equal(out, x.repeat_interleave(n_rep, dim=1),
                     f"repeat_kv(x, {n_rep}) repeats each head {n_rep} times in a row")


def test_repeat_kv_groups_heads_consecutively():
    x = torch.arange(3.0).view(1, 3, 1, 1)  # kv heads 0, 1, 2
    out = ex.repeat_kv(x, 2).flatten()
    assert_equal(out, torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0]),
                 "query head j reads kv head j // n_rep: heads come out as 0, 0, 1, 1, 2, 2")


# ---- GroupedQueryAttention ---------------------------------------------------------------------

def test_projection_shapes_and_no_biases():
    attn = ex.GroupedQueryAttention(d_model=32, n_heads=8, n_kv_heads=2)
    shapes = {"q_proj": (32, 32), "k_proj": (8, 32), "v_proj": (8, 32), "o_proj": (32, 32)}
    for name, shape in shapes.items():
        layer = getattr(attn, name, None)
        assert isinstance(layer, nn.Linear), f"GroupedQueryAttention.{name} is an nn.Linear"
        assert layer.bias is None, f"{name} has no bias"
        assert tuple(layer.weight.shape) == shape, \
            f"{name}.weight has shape {shape}: k_proj and v_proj output n_kv_heads * head_dim"


def test_output_shape():
    attn = ex.GroupedQueryAttention(d_model=24, n_heads=6, n_kv_heads=3)
    out = attn(torch.randn(2, 7, 24))
    assert tuple(out.shape) == (2, 7, 24), "GroupedQueryAttention maps (B, T, d_model) to (B, T, d_model)"


def test_matches_pytorch_sdpa_with_enable_gqa():
    x = torch.randn(2, 9, 32)
    for n_kv in [1, 2, 4, 8]:
        attn = ex.GroupedQueryAttention(d_model=32, n_heads=8, n_kv_heads=n_kv)
        assert_close(attn(x.clone()), sdpa_reference(attn, x),
                     f"with 8 query heads and {n_kv} kv heads, output matches "
                     "F.scaled_dot_product_attention(is_causal=True, enable_gqa=True)",
                     atol=1e-5, rtol=1e-4)


def test_g_equal_h_is_multi_head_attention():
    d, H, T = 16, 4, 6
    attn = ex.GroupedQueryAttention(d_model=d, n_heads=H, n_kv_heads=H)
    mha = nn.MultiheadAttention(d, H, bias=False, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([attn.q_proj.weight, attn.k_proj.weight,
                                            attn.v_proj.weight]))
        mha.out_proj.weight.copy_(attn.o_proj.weight)
    x = torch.randn(2, T, d)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    expected, _ = mha(x, x, x, attn_mask=future, need_weights=False)
    assert_close(attn(x.clone()), expected, "with n_kv_heads == n_heads it equals nn.MultiheadAttention",
                 atol=1e-5, rtol=1e-4)


def test_g_equal_one_is_multi_query_attention():
    d, H, T = 16, 4, 5
    attn = ex.GroupedQueryAttention(d_model=d, n_heads=H, n_kv_heads=1)
    x = torch.randn(1, T, d)
    hs = d // H
    q = (x @ attn.q_proj.weight.T).view(1, T, H, hs)
    k = x @ attn.k_proj.weight.T  # (1, T, hs): the one key head
    v = x @ attn.v_proj.weight.T
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    heads = []
    for h in range(H):
        scores = (q[:, :, h] @ k.transpose(1, 2) / math.sqrt(hs)).masked_fill(future, float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v)  # every head reads the same k and v
    expected = torch.cat(heads, dim=-1) @ attn.o_proj.weight.T
    assert_close(attn(x.clone()), expected, "with n_kv_heads == 1 every query head shares one key/value head",
                 atol=1e-5, rtol=1e-4)


def test_future_tokens_do_not_leak():
    attn = ex.GroupedQueryAttention(d_model=16, n_heads=4, n_kv_heads=2)
    x = torch.randn(1, 8, 16)
    t = 5
    x2 = x.clone()
    x2[:, t:] = torch.randn(1, 8 - t, 16)
    assert_close(attn(x2)[:, :t], attn(x.clone())[:, :t],
                 f"changing tokens {t} and later never changes the outputs before position {t}")


def test_kv_projections_are_smaller_by_the_group_size():
    full = ex.GroupedQueryAttention(d_model=64, n_heads=8, n_kv_heads=8)
    grouped = ex.GroupedQueryAttention(d_model=64, n_heads=8, n_kv_heads=2)
    n_full = full.k_proj.weight.numel() + full.v_proj.weight.numel()
    n_grouped = grouped.k_proj.weight.numel() + grouped.v_proj.weight.numel()
    assert n_full == 4 * n_grouped, "8 query heads over 2 kv heads: k and v projections are 4x smaller"
