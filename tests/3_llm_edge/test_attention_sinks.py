"""Checks for attention-sinks: the StreamingLLM cache and its attention mask."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("attention-sinks")


def qkv(T, B=2, H=3, D=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, B, H, T, D, generator=g).unbind(0)


def stream(cache, q, k, v, layer=0):
    """Feed one token at a time; each query attends to what update() returns."""
    outs = []
    for t in range(q.shape[-2]):
        k_all, v_all = cache.update(layer, k[..., t : t + 1, :], v[..., t : t + 1, :])
        outs.append(F.scaled_dot_product_attention(q[..., t : t + 1, :], k_all, v_all))
    return torch.cat(outs, dim=-2)


def test_sink_mask_small_case():
    expected = torch.tensor([
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [1, 0, 1, 1, 1, 0],
        [1, 0, 0, 1, 1, 1],
    ], dtype=torch.bool)
    assert_equal(ex.sink_mask(6, 1, 2), expected,
                 "sink_mask(6, n_sinks=1, window=2): query i sees key 0, keys i-2..i-1 and itself")


def test_sink_mask_with_a_wide_window_is_causal():
    causal = torch.ones(9, 9, dtype=torch.bool).tril()
    assert_equal(ex.sink_mask(9, 2, 8), causal, "with window >= T - 1 the sink mask is the causal mask")
    assert_equal(ex.sink_mask(9, 0, 20), causal, "with no sinks and a wide window it is still causal")


def test_size_never_exceeds_sinks_plus_window():
    cache = ex.SinkCache(n_sinks=4, window=8)
    _, k, v = qkv(40)
    assert cache.length == 0, "an empty cache has length 0"
    for t in range(40):
        cache.update(0, k[..., t : t + 1, :], v[..., t : t + 1, :])
        assert_equal(cache.length, min(t + 1, 12), f"after {t + 1} tokens the cache holds min(T, sinks + window)")
        assert cache.keys[0].shape[-2] <= 12, "the cache never holds more than n_sinks + window tokens"


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
        k_all, v_all = cache.update(0, k[..., t : t + 1, :], v[..., t : t + 1, :])
        idx = [j for j in range(t + 1) if j < n_sinks or j >= t - window]
        assert_equal(k_all, k[..., idx, :], f"at step {t} the query sees the sinks, the {window} "
                     "tokens before it and itself")
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
    k_all, v_all = cache.update(0, k, v)
    assert_equal(k_all, k, "a prompt given in one chunk attends to all of itself")
    assert_equal(cache.length, 6, "after the chunk the cache keeps sinks + window tokens")
    keep = [0, 1, 16, 17, 18, 19]
    assert_equal(cache.keys[0], k[..., keep, :], "the cache keeps the first n_sinks and the last window keys")
    assert_equal(cache.values[0], v[..., keep, :], "the cache keeps the matching values")


def test_layers_are_kept_apart():
    _, k, v = qkv(10, seed=3)
    cache = ex.SinkCache(n_sinks=1, window=3)
    for t in range(10):
        cache.update(0, k[..., t : t + 1, :], v[..., t : t + 1, :])
        cache.update(1, 2 * k[..., t : t + 1, :], 2 * v[..., t : t + 1, :])
    assert_equal(cache.keys[1], 2 * cache.keys[0], "each layer keeps its own keys")
    assert_equal(cache.keys[0], k[..., [0, 7, 8, 9], :], "layer 0 holds sink 0 and the last 3 tokens")


def test_no_sinks_is_a_sliding_window():
    _, k, v = qkv(15, seed=4)
    cache = ex.SinkCache(n_sinks=0, window=4)
    for t in range(15):
        cache.update(0, k[..., t : t + 1, :], v[..., t : t + 1, :])
    assert_equal(cache.keys[0], k[..., 11:, :], "with n_sinks=0 the cache is a plain window of the last tokens")
