"""Checks for flash-attention. The learner's code always gets clones of the inputs; the expected values
are computed from the untouched originals."""

import math

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("flash-attention")


def qkv(B=2, H=2, Tq=37, Tk=37, hs=16, dtype=torch.float32):
    q = torch.randn(B, H, Tq, hs, dtype=dtype)
    k = torch.randn(B, H, Tk, hs, dtype=dtype)
    v = torch.randn(B, H, Tk, hs, dtype=dtype)
    return q, k, v


def clones(*tensors):
    return [t.clone() for t in tensors]


def end_aligned_causal_mask(Tq, Tk):
    """True where allowed: query i sits at position Tk - Tq + i and sees keys up to there."""
    return torch.ones(Tq, Tk, dtype=torch.bool).tril(diagonal=Tk - Tq)


def reference_lse(q, k, causal):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores.masked_fill(~end_aligned_causal_mask(*scores.shape[-2:]), float("-inf"))
    return torch.logsumexp(scores, dim=-1)


class LargestTensor(TorchFunctionMode):
    """Records the number of elements of the largest tensor any PyTorch function or operator returns."""

    def __init__(self):
        super().__init__()
        self.largest, self.op = 0, None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.numel() > self.largest:
                self.largest, self.op = t.numel(), func
        return out


def test_matches_pytorch_sdpa():
    for Tq, Tk, block in [(37, 37, 16), (64, 64, 64), (10, 45, 8), (33, 20, 64)]:
        q, k, v = qkv(Tq=Tq, Tk=Tk)
        out, _ = ex.flash_attention(*clones(q, k, v), block_size=block)
        assert_close(out, F.scaled_dot_product_attention(q, k, v),
                     f"tiled attention matches F.scaled_dot_product_attention (Tq={Tq}, Tk={Tk}, "
                     f"block {block})", atol=1e-5, rtol=1e-4)


def test_causal_matches_pytorch_sdpa():
    for T, block in [(37, 16), (50, 7), (64, 64), (20, 128)]:
        q, k, v = qkv(Tq=T, Tk=T)
        out, _ = ex.flash_attention(*clones(q, k, v), causal=True, block_size=block)
        assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True),
                     f"causal tiled attention matches is_causal=True (T={T}, block {block})",
                     atol=1e-5, rtol=1e-4)


def test_causal_with_fewer_queries_aligns_them_to_the_last_keys():
    # New tokens over a KV cache: the Tq queries are positions Tk - Tq .. Tk - 1.
    for Tq, Tk, block in [(1, 37, 8), (10, 45, 8), (5, 20, 64), (13, 30, 4)]:
        q, k, v = qkv(Tq=Tq, Tk=Tk)
        out, lse = ex.flash_attention(*clones(q, k, v), causal=True, block_size=block)
        mask = end_aligned_causal_mask(Tq, Tk)
        assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                     f"causal with Tq={Tq} < Tk={Tk}: query i sees keys 0 .. Tk - Tq + i (block {block})",
                     atol=1e-5, rtol=1e-4)
        assert_close(lse, reference_lse(q, k, causal=True),
                     f"lse with Tq={Tq} < Tk={Tk} is the logsumexp over keys 0 .. Tk - Tq + i",
                     atol=1e-5, rtol=1e-5)
    q, k, v = qkv(Tq=40, Tk=40)
    full, _ = ex.flash_attention(*clones(q, k, v), causal=True, block_size=16)
    last, _ = ex.flash_attention(*clones(q[..., 31:, :], k, v), causal=True, block_size=16)
    assert_close(last, full[..., 31:, :], "causal attention of the last 9 queries alone equals the last 9 "
                 "rows of the full causal pass (prefill then decode gives the same outputs)", atol=1e-5, rtol=1e-4)


def test_inputs_are_left_unchanged():
    q, k, v = qkv(Tq=20, Tk=33)
    given = clones(q, k, v)
    for causal in (False, True):
        ex.flash_attention(*given, causal=causal, block_size=8)
        for name, before, after in zip("qkv", (q, k, v), given, strict=True):
            assert_equal(after, before, f"flash_attention never writes into {name} (causal={causal}); "
                         "scale a copy, not q itself")


def test_lse_is_the_logsumexp_of_the_scores():
    for causal in [False, True]:
        q, k, v = qkv(Tq=29, Tk=29)
        _, lse = ex.flash_attention(*clones(q, k, v), causal=causal, block_size=8)
        assert_close(lse, reference_lse(q, k, causal),
                     f"lse is logsumexp over keys of the scaled scores, shape (B, H, Tq) (causal={causal})",
                     atol=1e-5, rtol=1e-5)


def test_invariant_to_the_block_size():
    q, k, v = qkv(Tq=45, Tk=45, dtype=torch.float64)
    for causal in [False, True]:
        ref, ref_lse = ex.flash_attention(*clones(q, k, v), causal=causal, block_size=45)
        for block in [1, 4, 13, 32, 100]:
            out, lse = ex.flash_attention(*clones(q, k, v), causal=causal, block_size=block)
            assert_close(out, ref, f"the output does not depend on block_size ({block} vs 45, causal={causal})")
            assert_close(lse, ref_lse, f"lse does not depend on block_size ({block} vs 45, causal={causal})")


def test_stable_for_huge_scores():
    q, k, v = qkv(Tq=24, Tk=24)
    q = q * 300.0  # scores in the thousands: exp() overflows without the running maximum
    out, lse = ex.flash_attention(*clones(q, k, v), causal=True, block_size=8)
    assert torch.isfinite(out).all() and torch.isfinite(lse).all(), \
        "scores in the thousands give finite outputs (subtract the running maximum before exp)"
    assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 "tiled attention with huge scores matches F.scaled_dot_product_attention",
                 atol=1e-4, rtol=1e-4)


def test_two_halves_merge_through_lse():
    # Attention over keys A+B is the lse-weighted mix of attention over A and over B.
    q, k, v = qkv(Tq=12, Tk=40)
    out_a, lse_a = ex.flash_attention(*clones(q, k[..., :25, :], v[..., :25, :]), block_size=8)
    out_b, lse_b = ex.flash_attention(*clones(q, k[..., 25:, :], v[..., 25:, :]), block_size=8)
    lse = torch.logaddexp(lse_a, lse_b)
    merged = (lse_a - lse).exp()[..., None] * out_a + (lse_b - lse).exp()[..., None] * out_b
    out, _ = ex.flash_attention(*clones(q, k, v), block_size=8)
    assert_close(merged, out, "outputs over two sets of keys, weighted by exp(lse_part - lse), "
                 "give the output over all keys", atol=1e-5, rtol=1e-4)


def test_never_builds_the_full_score_matrix():
    B, H, T, hs, block = 1, 1, 256, 16, 32
    q, k, v = qkv(B=B, H=H, Tq=T, Tk=T, hs=hs)
    allowed = B * H * max(T * hs, block * block)  # the inputs and output, or one tile of scores
    for causal in [False, True]:
        given = clones(q, k, v)
        probe = LargestTensor()
        with probe:
            ex.flash_attention(*given, causal=causal, block_size=block)
        assert probe.largest <= allowed, (
            f"with T={T} and block_size={block}, no intermediate may be larger than a "
            f"{block}x{block} tile of scores or the output ({allowed} elements); "
            f"{getattr(probe.op, '__name__', probe.op)} made one of {probe.largest} elements "
            f"(the full matrix has {T * T}), causal={causal}")
