"""Checks for sliding-window-attention. The learner's code always gets clones of the inputs; the
expected values are computed from the untouched originals."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("sliding-window-attention")


def qkv(B=2, H=3, T=12, hs=8):
    return torch.randn(3, B, H, T, hs).unbind(0)


def clones(*tensors):
    return [t.clone() for t in tensors]


# ---- the mask ----------------------------------------------------------------------------------

def test_mask_small_example():
    expected = torch.tensor([
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 1, 1],
    ], dtype=torch.bool)
    assert_equal(ex.sliding_window_mask(5, 2), expected,
                 "sliding_window_mask(5, 2): each query sees itself and the one token before it")


def test_mask_follows_the_rule():
    for T, W in [(7, 3), (9, 1), (6, 6), (4, 10)]:
        mask = ex.sliding_window_mask(T, W)
        assert mask.dtype == torch.bool and tuple(mask.shape) == (T, T), \
            f"sliding_window_mask({T}, {W}) is a ({T}, {T}) bool tensor"
        expected = torch.tensor([[q - W < kv <= q for kv in range(T)] for q in range(T)])
        assert_equal(mask, expected, f"mask[q, kv] is True exactly when q - window < kv <= q (T={T}, W={W})")


def test_every_query_sees_at_most_window_keys():
    mask = ex.sliding_window_mask(20, 4)
    expected = torch.clamp(torch.arange(1, 21), max=4)
    assert_equal(mask.sum(dim=-1), expected, "query q sees min(q + 1, window) keys")


def test_a_window_as_long_as_the_sequence_is_full_causal():
    for W in [8, 9, 100]:
        assert_equal(ex.sliding_window_mask(8, W), torch.ones(8, 8, dtype=torch.bool).tril(),
                     f"with window {W} >= T = 8 the mask is the full causal mask")


# ---- attention ---------------------------------------------------------------------------------

def test_matches_pytorch_sdpa_with_the_band_mask():
    q, k, v = qkv()
    T = q.shape[-2]
    band = torch.tensor([[q_ - 4 < kv <= q_ for kv in range(T)] for q_ in range(T)])
    assert_close(ex.sliding_window_attention(*clones(q, k, v), 4),
                 F.scaled_dot_product_attention(q, k, v, attn_mask=band),
                 "sliding-window attention matches F.scaled_dot_product_attention with the band mask",
                 atol=1e-5, rtol=1e-4)


def test_window_at_least_t_equals_full_causal_attention():
    q, k, v = qkv(T=10)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    for W in [10, 64]:
        assert_close(ex.sliding_window_attention(*clones(q, k, v), W), expected,
                     f"window {W} >= T equals full causal attention", atol=1e-5, rtol=1e-4)


def test_window_one_returns_the_values():
    q, k, v = qkv(T=6)
    assert_close(ex.sliding_window_attention(*clones(q, k, v), 1), v,
                 "with window 1 each token attends only to itself, so the output is v",
                 atol=1e-6, rtol=1e-5)


def test_tokens_outside_the_window_do_not_matter():
    q, k, v = qkv(B=1, H=2, T=12)
    W, t = 4, 9  # query 9 reads keys 6, 7, 8, 9
    k2, v2 = k.clone(), v.clone()
    k2[..., : t - W + 1, :] = torch.randn_like(k2[..., : t - W + 1, :])
    v2[..., : t - W + 1, :] = torch.randn_like(v2[..., : t - W + 1, :])
    out = ex.sliding_window_attention(*clones(q, k, v), W)
    out2 = ex.sliding_window_attention(*clones(q, k2, v2), W)
    assert_close(out2[..., t, :], out[..., t, :],
                 f"changing keys and values more than window - 1 = {W - 1} positions back "
                 f"leaves query {t} unchanged")


def test_fewer_queries_are_the_last_positions():
    q, k, v = qkv(T=10)
    full = ex.sliding_window_attention(*clones(q, k, v), 3)
    part = ex.sliding_window_attention(*clones(q[..., 7:, :], k, v), 3)
    assert_close(part, full[..., 7:, :],
                 "with Tq < Tk the queries are the last Tq positions: rows equal the full pass's last rows")
    T, Tq = 10, 3
    band = torch.tensor([[T - Tq + i - 3 < j <= T - Tq + i for j in range(T)] for i in range(Tq)])
    assert_close(part, F.scaled_dot_product_attention(q[..., 7:, :], k, v, attn_mask=band),
                 "query i of a chunk of Tq sits at position Tk - Tq + i: it sees keys "
                 "Tk - Tq + i - window < j <= Tk - Tq + i", atol=1e-5, rtol=1e-4)


# ---- chunked prefill ---------------------------------------------------------------------------

def test_chunked_prefill_equals_one_pass():
    q, k, v = qkv(T=17)
    for W, C in [(4, 3), (4, 8), (5, 5), (1, 4), (6, 1), (30, 7)]:
        band = torch.tensor([[q_ - W < kv <= q_ for kv in range(17)] for q_ in range(17)])
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=band)
        assert_close(ex.chunked_prefill(*clones(q, k, v), W, C), expected,
                     f"chunked prefill (window {W}, chunks of {C}) equals one full pass",
                     atol=1e-5, rtol=1e-4)


def test_chunked_prefill_keeps_at_most_window_minus_one_past_keys():
    q, k, v = qkv(B=1, H=1, T=20)
    original = ex.sliding_window_attention
    for W, C in [(5, 3), (1, 3)]:
        seen = []

        def spy(q_, k_, v_, window, seen=seen):
            seen.append((q_.shape[-2], k_.shape[-2]))
            return original(q_, k_, v_, window)

        ex.sliding_window_attention = spy
        try:
            ex.chunked_prefill(*clones(q, k, v), W, C)
        finally:
            ex.sliding_window_attention = original
        assert [n_q for n_q, _ in seen] == [3, 3, 3, 3, 3, 3, 2], \
            f"chunked_prefill calls sliding_window_attention once per chunk of 3 queries, got {seen}"
        for n_q, n_k in seen:
            assert n_k <= (W - 1) + n_q, \
                f"with window {W}, each chunk attends over at most window - 1 = {W - 1} kept keys " \
                f"plus its own {n_q}: got {n_k} keys"


def test_inputs_are_left_unchanged():
    q, k, v = qkv(T=11)
    given = clones(q, k, v)
    ex.sliding_window_attention(*given, 4)
    ex.chunked_prefill(*given, 4, 3)
    for name, before, after in zip("qkv", (q, k, v), given, strict=True):
        assert_equal(after, before, f"sliding_window_attention and chunked_prefill never write into {name}")
