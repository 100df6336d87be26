"""Checks for attention-sinks: the StreamingLLM cache, its attention mask, and RoPE positions given by
place in the cache. The learner's code always gets clones of the inputs; the expected values are
computed from the untouched originals. `window` counts the most recent keys a query sees, itself
included (as in sliding-window-attention)."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("attention-sinks")


def qkv(T, B=2, H=3, D=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, B, H, T, D, generator=g).unbind(0)


def clones(*tensors):
    return [t.clone() for t in tensors]


def kept(t, n_sinks, window):
    """Text positions query t sees when tokens arrive one at a time: the sinks, then its window."""
    return [j for j in range(t + 1) if j < n_sinks or j > t - window]


def rotate(x, positions, base=10000.0):
    """RoPE in the half-split layout, closed form: pair (x_i, x_{i+D/2}) times exp(j m theta_i)."""
    D = x.shape[-1]
    theta = base ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / D)
    angles = torch.as_tensor(positions, dtype=torch.float64)[:, None] * theta  # (T, D/2)
    z = torch.complex(x[..., : D // 2].double(), x[..., D // 2 :].double())
    z = z * torch.polar(torch.ones_like(angles), angles)
    return torch.cat([z.real, z.imag], dim=-1).to(x.dtype)


def stream(cache, q, k, v, layer=0):
    """Feed one token at a time through update(); each query attends to what update() returns (no RoPE)."""
    outs = []
    for t in range(q.shape[-2]):
        k_all, v_all = cache.update(layer, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
        outs.append(F.scaled_dot_product_attention(q[..., t : t + 1, :], k_all, v_all))
    return torch.cat(outs, dim=-2)


# ---- the mask ----------------------------------------------------------------------------------

def test_sink_mask_small_case():
    expected = torch.tensor([
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 0, 1, 1, 0, 0],
        [1, 0, 0, 1, 1, 0],
        [1, 0, 0, 0, 1, 1],
    ], dtype=torch.bool)
    assert_equal(ex.sink_mask(6, 1, 2), expected,
                 "sink_mask(6, n_sinks=1, window=2): query i sees key 0, and keys i-1 and i (its window "
                 "of 2, itself included)")


def test_sink_mask_without_sinks_is_the_sliding_window():
    for T, W in [(9, 3), (7, 1), (6, 10)]:
        band = torch.tensor([[q - W < kv <= q for kv in range(T)] for q in range(T)])
        assert_equal(ex.sink_mask(T, 0, W), band, f"with no sinks, sink_mask({T}, 0, {W}) is the sliding "
                     f"window q - window < kv <= q: one definition of window across the stage")


def test_sink_mask_with_a_wide_window_is_causal():
    causal = torch.ones(9, 9, dtype=torch.bool).tril()
    assert_equal(ex.sink_mask(9, 2, 9), causal, "with window >= T the sink mask is the causal mask")
    assert_equal(ex.sink_mask(9, 0, 20), causal, "with no sinks and a wide window it is still causal")


# ---- the cache ---------------------------------------------------------------------------------

def test_size_never_exceeds_sinks_plus_window():
    cache = ex.SinkCache(n_sinks=4, window=8)
    _, k, v = qkv(40)
    assert cache.length == 0, "an empty cache has length 0"
    for t in range(40):
        k_all, _ = cache.update(0, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
        assert k_all.shape[-2] <= 12, "a query never sees more than n_sinks + window keys"
        assert_equal(cache.length, min(t + 1, 11), f"after {t + 1} tokens the cache holds min(T, sinks + "
                     "window - 1): the next query brings itself")
    assert cache.seen == 40, "seen counts every token given to layer 0, evicted ones included"


def test_equals_full_attention_while_short():
    q, k, v = qkv(12)
    cache = ex.SinkCache(n_sinks=4, window=8)
    assert_close(stream(cache, q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 "while T <= sinks + window, streaming through the cache equals full causal attention")


def test_returned_keys_are_sinks_then_recent_tokens():
    _, k, v = qkv(30)
    n_sinks, window = 3, 5
    cache = ex.SinkCache(n_sinks, window)
    for t in range(30):
        k_all, v_all = cache.update(0, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
        idx = kept(t, n_sinks, window)
        assert_equal(k_all, k[..., idx, :], f"at step {t} the query sees the sinks and its window of "
                     f"{window} (the {window - 1} tokens before it and itself)")
        assert_equal(v_all, v[..., idx, :], f"at step {t} the values match the keys' positions")


def test_streaming_equals_one_pass_with_the_sink_mask():
    q, k, v = qkv(25, seed=1)
    cache = ex.SinkCache(n_sinks=2, window=6)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=ex.sink_mask(25, 2, 6))
    assert_close(stream(cache, q, k, v), expected,
                 "token-by-token streaming through SinkCache equals one pass with sink_mask")


def test_long_prompt_in_one_chunk_sees_all_of_itself():
    _, k, v = qkv(20, seed=2)
    cache = ex.SinkCache(n_sinks=2, window=4)
    k_all, v_all = cache.update(0, k.clone(), v.clone())
    assert_equal(k_all, k, "a prompt given in one chunk attends to all of itself")
    assert_equal(cache.length, 5, "after the chunk the cache keeps sinks + window - 1 tokens")
    keep = [0, 1, 17, 18, 19]
    assert_equal(cache.keys[0], k[..., keep, :], "the cache keeps the first n_sinks and the last window - 1 keys")
    assert_equal(cache.values[0], v[..., keep, :], "the cache keeps the matching values")


def test_layers_are_kept_apart():
    _, k, v = qkv(10, seed=3)
    cache = ex.SinkCache(n_sinks=1, window=3)
    for t in range(10):
        cache.update(0, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
        cache.update(1, 2 * k[..., t : t + 1, :], 2 * v[..., t : t + 1, :])
    assert_equal(cache.keys[1], 2 * cache.keys[0], "each layer keeps its own keys")
    assert_equal(cache.keys[0], k[..., [0, 8, 9], :], "layer 0 holds sink 0 and the last window - 1 = 2 tokens")


def test_no_sinks_is_a_sliding_window():
    _, k, v = qkv(15, seed=4)
    cache = ex.SinkCache(n_sinks=0, window=4)
    for t in range(15):
        cache.update(0, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
    assert_equal(cache.keys[0], k[..., 12:, :], "with n_sinks=0 the cache is a plain window of the last "
                 "window - 1 tokens")


def test_window_of_one_keeps_only_the_sinks():
    _, k, v = qkv(10, seed=5)
    cache = ex.SinkCache(n_sinks=2, window=1)
    for t in range(10):
        k_all, _ = cache.update(0, k[..., t : t + 1, :].clone(), v[..., t : t + 1, :].clone())
        assert_equal(k_all, k[..., kept(t, 2, 1), :], f"with window 1, query {t} sees the sinks and itself")
    assert_equal(cache.keys[0], k[..., :2, :], "with window 1 the cache keeps only the sinks between steps "
                 "(x[..., -0:, :] would keep everything)")


# ---- positions: RoPE by place in the cache -----------------------------------------------------

def expected_stream(q, k, v, chunks, n_sinks, window):
    """Outputs of sink_attention for un-rotated q, k, v fed in chunks, computed from the rule: the keys a
    chunk sees are the cached ones (text positions `held`) then its own; key s is rotated as position s,
    new query t as position S - T + t; causal mask aligned to the end."""
    outs, held, start = [], [], 0
    for T in chunks:
        new = list(range(start, start + T))
        idx = held + new
        S = len(idx)
        kr = rotate(k[..., idx, :], range(S))
        qr = rotate(q[..., start : start + T, :], range(S - T, S))
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        outs.append(F.scaled_dot_product_attention(qr, kr, v[..., idx, :], attn_mask=mask))
        held = idx if len(idx) <= n_sinks + window - 1 else idx[:n_sinks] + idx[len(idx) - (window - 1):]
        start += T
    return torch.cat(outs, dim=-2)


def run_stream(q, k, v, chunks, cache):
    outs, start = [], 0
    for T in chunks:
        part = slice(start, start + T)
        outs.append(ex.sink_attention(*clones(q[..., part, :], k[..., part, :], v[..., part, :]), cache))
        start += T
    return torch.cat(outs, dim=-2)


def test_sink_attention_is_rope_attention_before_anything_is_evicted():
    q, k, v = qkv(10, seed=6)
    out = run_stream(q, k, v, [1] * 10, ex.SinkCache(n_sinks=4, window=8))
    expected = F.scaled_dot_product_attention(rotate(q, range(10)), rotate(k, range(10)), v, is_causal=True)
    assert_close(out, expected, "while nothing has been evicted, cache positions are text positions: "
                 "streaming equals causal attention with q and k rotated at 0..T-1", atol=1e-5, rtol=1e-4)


def test_sink_attention_rotates_keys_at_their_cache_positions():
    q, k, v = qkv(30, seed=7)
    n_sinks, window = 2, 5
    out = run_stream(q, k, v, [1] * 30, ex.SinkCache(n_sinks, window))
    expected = expected_stream(q, k, v, [1] * 30, n_sinks, window)
    for t in (6, 7, 15, 29):
        assert_close(out[..., t, :], expected[..., t, :],
                     f"step {t}: the {len(kept(t, n_sinks, window))} keys are rotated as positions 0.. by their "
                     "place in the cache and the query as the last one, not by text positions (StreamingLLM 3.2)",
                     atol=1e-5, rtol=1e-4)


def test_sink_attention_with_chunks_aligns_queries_to_the_end():
    q, k, v = qkv(24, seed=8)
    chunks = [5, 3, 1, 4, 1, 1, 9]  # a prompt, more chunks, single tokens: T new queries over S keys
    out = run_stream(q, k, v, chunks, ex.SinkCache(n_sinks=2, window=4))
    expected = expected_stream(q, k, v, chunks, n_sinks=2, window=4)
    assert_close(out, expected, "T new queries over S keys sit at cache positions S - T .. S - 1 and query t "
                 "sees keys 0 .. S - T + t (mask tril(diagonal=S - T))", atol=1e-5, rtol=1e-4)


def test_cache_stores_keys_before_rotation():
    q, k, v = qkv(16, seed=9)
    cache = ex.SinkCache(n_sinks=2, window=4)
    run_stream(q, k, v, [1] * 16, cache)
    assert_close(cache.keys[0], k[..., [0, 1, 13, 14, 15], :], "the cache holds the keys as they came, "
                 "un-rotated: they are rotated afresh at every step by their current place", atol=0, rtol=0)
    assert_close(cache.values[0], v[..., [0, 1, 13, 14, 15], :], "values are cached (and used) as they came",
                 atol=0, rtol=0)


def test_sink_attention_leaves_its_inputs_unchanged():
    q, k, v = qkv(6, seed=10)
    cache = ex.SinkCache(n_sinks=1, window=3)
    given = clones(q, k, v)
    ex.sink_attention(*given, cache)
    for name, before, after in zip("qkv", (q, k, v), given, strict=True):
        assert_equal(after, before, f"sink_attention never writes into {name} (rotate copies)")
