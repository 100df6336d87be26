"""Checks for causal-attention: PyTorch's own attention as the oracle (with an explicit mask where
its is_causal differs), plus the invariants. Every call hands the learner copies of its inputs
(support/untouched.py)."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("causal-attention")
untouched = retreat.load_support("untouched")


def attend(*args, **kwargs):
    return untouched.call(ex.scaled_dot_product_attention, *args, **kwargs)


def bottom_right(T_q, T_k):
    """The causal mask when the T_q queries are the last T_q of the T_k positions (True = allowed)."""
    i, j = torch.arange(T_q)[:, None], torch.arange(T_k)[None, :]
    return j <= i + (T_k - T_q)


def qkv(B=2, H=3, T=6, hs=8, T_k=None, hs_v=None):
    T_k = T if T_k is None else T_k
    hs_v = hs if hs_v is None else hs_v
    return torch.randn(B, H, T, hs), torch.randn(B, H, T_k, hs), torch.randn(B, H, T_k, hs_v)


def test_full_attention_matches_pytorch():
    q, k, v = qkv(T=5, T_k=7, hs_v=4)
    assert_close(attend(q, k, v),
                 F.scaled_dot_product_attention(q, k, v),
                 "attention without a mask matches F.scaled_dot_product_attention "
                 "(queries and keys of different lengths, values of another width)")


def test_causal_attention_matches_pytorch():
    q, k, v = qkv()
    assert_close(attend(q, k, v, causal=True),
                 F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 "causal attention matches F.scaled_dot_product_attention(is_causal=True)")


def test_boolean_mask_matches_pytorch():
    q, k, v = qkv()
    mask = torch.rand(2, 1, 6, 6) > 0.5  # broadcast over the heads
    mask |= torch.eye(6, dtype=torch.bool)  # every query may see at least one key
    assert_close(attend(q, k, v, mask=mask),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                 "a boolean mask (True = may attend) matches F.scaled_dot_product_attention(attn_mask=...)")


def test_mask_and_causal_combine():
    q, k, v = qkv()
    mask = torch.ones(6, 6, dtype=torch.bool)
    mask[:, 0] = False  # nobody may look at token 0 ...
    mask[0, 0] = True  # ... except token 0 itself
    both = mask & torch.ones(6, 6, dtype=torch.bool).tril()
    assert_close(attend(q, k, v, mask=mask, causal=True),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=both),
                 "with causal=True and a mask, a key must be allowed by both")


def test_explicit_scale_matches_pytorch():
    q, k, v = qkv()
    assert_close(attend(q, k, v, causal=True, scale=0.3),
                 F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
                 "scale=0.3 multiplies q @ k^T by 0.3 (instead of 1/sqrt(head_dim))")


def test_default_scale_is_one_over_sqrt_head_dim():
    # With hs = 64 the default scale is 1/8: using 1 instead makes the weights far too peaked.
    q, k, v = qkv(B=1, H=2, T=5, hs=64)
    assert_close(attend(q, k, v),
                 F.scaled_dot_product_attention(q, k, v, scale=1 / 8),
                 "the default scale is 1/sqrt(head_dim) (here 1/sqrt(64) = 1/8)")


def test_rows_sum_to_one_and_future_gets_zero_weight():
    # With v = identity, the output IS the attention-weight matrix.
    T = 6
    q, k, _ = qkv(B=2, H=2, T=T)
    v = torch.eye(T).expand(2, 2, T, T)
    weights = attend(q, k, v, causal=True)
    assert_close(weights.sum(-1), torch.ones(2, 2, T), "each row of attention weights sums to 1")
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    assert_equal(weights[..., future], torch.zeros(2, 2, int(future.sum())),
                 "with causal=True, query i gives weight 0 to every key j > i")
    assert bool((weights[..., 0, 0] == 1).all()), "the first query can only attend to itself (weight 1)"


def test_changing_token_t_never_changes_outputs_before_t():
    T, t = 8, 5
    q, k, v = qkv(B=1, H=2, T=T)
    out = attend(q, k, v, causal=True)
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    q2[:, :, t:] += torch.randn(1, 2, T - t, 8)
    k2[:, :, t:] += torch.randn(1, 2, T - t, 8)
    v2[:, :, t:] += torch.randn(1, 2, T - t, 8)
    out2 = attend(q2, k2, v2, causal=True)
    assert_equal(out2[:, :, :t], out[:, :, :t],
                 f"outputs before position {t} did not change when tokens {t}.. changed")
    assert not torch.allclose(out2[:, :, t], out[:, :, t]), f"the output at position {t} depends on token {t}"


def test_works_without_a_heads_axis_and_with_gradients():
    q, k, v = (torch.randn(4, 5, dtype=torch.float64, requires_grad=True) for _ in range(3))
    out = attend(q, k, v, causal=True)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 "attention on (T, hs) inputs, without batch or heads axes, matches PyTorch")
    assert torch.autograd.gradcheck(
        lambda a, b, c: ex.scaled_dot_product_attention(a, b, c, causal=True), (q, k, v)
    ), "gradients flow through attention (gradcheck in float64)"


def test_causal_with_fewer_queries_than_keys_aligns_to_the_end():
    # 3 new queries against 7 keys: the queries are positions 4, 5, 6, so query 0 sees keys 0..4.
    q, k, v = qkv(T=3, T_k=7)
    assert_close(attend(q, k, v, causal=True),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=bottom_right(3, 7)),
                 "with T_q=3 queries and T_k=7 keys, query i sees keys 0..i + 4 (the triangle ends in "
                 "the bottom-right corner; PyTorch's is_causal=True would let it see keys 0..i only)")
    full_q = torch.randn(2, 3, 7, 8)
    full_q[:, :, -3:] = q
    assert_close(attend(q, k, v, causal=True),
                 F.scaled_dot_product_attention(full_q, k, v, is_causal=True)[:, :, -3:],
                 "attending with the last 3 queries gives the last 3 rows of full causal attention")
    one = q[:, :, -1:]
    assert_close(attend(one, k, v, causal=True), F.scaled_dot_product_attention(one, k, v),
                 "a single new query (T_q=1) sees every key")


def test_masks_broadcast_over_batch_and_heads():
    B, H, T_q, T_k = 2, 3, 4, 6
    q, k, v = qkv(B=B, H=H, T=T_q, T_k=T_k)
    shared = torch.rand(T_q, T_k) > 0.4
    shared[:, 0] = True  # every query may see at least one key
    padding = torch.ones(B, 1, 1, T_k, dtype=torch.bool)
    padding[1, ..., -2:] = False  # the second sequence has two padded keys
    per_head = torch.rand(1, H, T_q, T_k) > 0.5
    per_head[..., 0] = True
    for name, mask in (("a (T_q, T_k) mask", shared), ("a (B, 1, 1, T_k) padding mask", padding),
                       ("a (1, H, T_q, T_k) mask", per_head)):
        assert_close(attend(q, k, v, mask=mask), F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                     f"{name} broadcasts over the other axes, as in F.scaled_dot_product_attention")
    assert_close(attend(q, k, v, mask=padding, causal=True),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=padding & bottom_right(T_q, T_k)),
                 "a padding mask combines with the (bottom-right) causal triangle")


def test_a_scale_of_zero_gives_equal_weights():
    q, k, v = qkv(B=1, H=2, T=5)
    counts = torch.arange(1, 6, dtype=torch.float32)[:, None]
    assert_close(attend(q, k, v, causal=True, scale=0.0), v.cumsum(dim=-2) / counts,
                 "scale=0.0 is a scale, not 'use the default': every allowed key gets the same weight, "
                 "so output i is the mean of v[0..i]")


def test_inputs_are_left_untouched():
    q, k, v = qkv()
    mask = torch.rand(6, 6) > 0.3
    mask |= torch.eye(6, dtype=torch.bool)
    assert_close(attend(q, k, v, mask=mask, causal=True, scale=0.5),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=mask & bottom_right(6, 6), scale=0.5),
                 "attention leaves q, k, v and mask as they were (scale the scores, not q in place)")


def test_half_precision_keeps_its_dtype():
    q, k, v = qkv()
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    for dtype, tol in ((torch.bfloat16, 3e-2), (torch.float16, 5e-3)):
        out = attend(q.to(dtype), k.to(dtype), v.to(dtype), causal=True)
        assert_close(out, expected.to(dtype), f"attention of {dtype} inputs returns {dtype}, within a few "
                     f"roundings of the float32 result", atol=tol, rtol=tol)
