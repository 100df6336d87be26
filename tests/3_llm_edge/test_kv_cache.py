"""Checks for kv-cache. The learner's code always gets clones of the inputs; the expected values are
computed from the untouched originals."""

import math

import torch
import torch.nn as nn

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("kv-cache")


class TinyAttention(nn.Module):
    def __init__(self, d, n_heads, n_kv_heads):
        super().__init__()
        self.H, self.G, self.hs = n_heads, n_kv_heads, d // n_heads
        self.q = nn.Linear(d, d, bias=False)
        self.kv = nn.Linear(d, 2 * n_kv_heads * self.hs, bias=False)
        self.o = nn.Linear(d, d, bias=False)

    def forward(self, x, layer, cache, start):
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.H, self.hs).transpose(1, 2)  # (B, H, T, hs)
        k, v = self.kv(x).view(B, T, 2, self.G, self.hs).permute(2, 0, 3, 1, 4)  # (B, G, T, hs) each
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, G, start + T, hs)
        k = k.repeat_interleave(self.H // self.G, dim=1)
        v = v.repeat_interleave(self.H // self.G, dim=1)
        S = k.shape[-2]
        allowed = torch.arange(S)[None, :] <= start + torch.arange(T)[:, None]  # (T, S)
        scores = (q @ k.transpose(-2, -1) / math.sqrt(self.hs)).masked_fill(~allowed, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return self.o(out.transpose(1, 2).reshape(B, T, -1))


class TinyLM(nn.Module):
    """A small decoder that follows the kv-cache model protocol: model(ids, cache=None)."""

    def __init__(self, vocab=40, d=32, n_layers=3, n_heads=4, n_kv_heads=2, max_len=64):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.attn = nn.ModuleList(TinyAttention(d, n_heads, n_kv_heads) for _ in range(n_layers))
        self.mlp = nn.ModuleList(nn.Sequential(nn.Linear(d, 2 * d), nn.Tanh(), nn.Linear(2 * d, d))
                                 for _ in range(n_layers))
        self.head = nn.Linear(d, vocab)
        self.calls = []  # (T_new, cache length before the call) for every call

    def forward(self, ids, cache=None):
        B, T = ids.shape
        start = cache.length if cache is not None else 0
        self.calls.append((T, start))
        x = self.tok(ids) + self.pos(torch.arange(start, start + T))
        for i, (attn, mlp) in enumerate(zip(self.attn, self.mlp, strict=True)):
            x = x + attn(x, i, cache, start)
            x = x + mlp(x)
        return self.head(x)


def tiny_model(**kwargs):
    return TinyLM(**kwargs).double().eval()


def greedy_reference(model, ids, n):
    for _ in range(n):
        ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids


# ---- KVCache -----------------------------------------------------------------------------------

def test_an_empty_cache_has_length_zero():
    assert ex.KVCache().length == 0, "a new KVCache has length 0"


def test_update_appends_along_the_sequence_axis():
    cache = ex.KVCache()
    k1, v1 = torch.randn(2, 2, 3, 4, 5).unbind(0)  # (B=2, G=3, t=4, hs=5)
    k_all, v_all = cache.update(0, k1.clone(), v1.clone())
    assert_equal(k_all, k1, "the first update returns the keys it was given")
    assert_equal(v_all, v1, "the first update returns the values it was given")
    k2, v2 = torch.randn(2, 2, 3, 1, 5).unbind(0)
    k_all, v_all = cache.update(0, k2.clone(), v2.clone())
    assert_equal(k_all, torch.cat([k1, k2], dim=2), "update returns old keys then new keys, along axis -2")
    assert_equal(v_all, torch.cat([v1, v2], dim=2), "update returns old values then new values")
    assert cache.length == 5, "after 4 then 1 tokens the cache length is 5"


def test_layers_have_their_own_entries():
    cache = ex.KVCache()
    kv = {i: torch.randn(2, 1, 2, 3, 4).unbind(0) for i in range(3)}
    for i in range(3):
        cache.update(i, kv[i][0].clone(), kv[i][1].clone())
    assert cache.length == 3, "three layers of 3 tokens each: length counts tokens (3), not layers"
    new = {i: torch.randn(2, 1, 2, 1, 4).unbind(0) for i in range(3)}
    for i in range(3):
        k_all, v_all = cache.update(i, new[i][0].clone(), new[i][1].clone())
        assert_equal(k_all, torch.cat([kv[i][0], new[i][0]], dim=2),
                     f"layer {i} gets back its own keys, not another layer's")
        assert_equal(v_all, torch.cat([kv[i][1], new[i][1]], dim=2),
                     f"layer {i} gets back its own values")
    assert cache.length == 4, "one more token in every layer: length 4"


def test_cached_forward_gives_the_logits_of_a_full_forward():
    model = tiny_model()
    ids = torch.randint(0, 40, (2, 10))
    cache = ex.KVCache()
    rows = [model(ids[:, :6], cache=cache)]  # prefill 6 tokens
    rows += [model(ids[:, t:t + 1], cache=cache) for t in range(6, 10)]  # then one at a time
    assert_close(torch.cat(rows, dim=1), model(ids),
                 "a prefill then one token at a time through the cache gives the logits of one "
                 "full forward pass")


# ---- kv_cache_bytes ----------------------------------------------------------------------------

def test_cache_size_of_llama2_7b():
    # 32 layers, 32 kv heads of 128, 4096 tokens in float16: exactly 2 GiB.
    assert ex.kv_cache_bytes(32, 32, 128, 4096) == 2 * 1024**3, \
        "Llama 2 7B's float16 cache at 4096 tokens is 2 * 32 * 32 * 128 * 4096 * 2 bytes = 2 GiB"
    assert ex.kv_cache_bytes(80, 8, 128, 4096, batch_size=2, bytes_per_value=4) == \
        2 * 80 * 8 * 128 * 4096 * 2 * 4, "the size grows with batch_size and bytes_per_value"


def test_cache_size_formula_matches_a_real_cache():
    model = tiny_model(n_layers=3, n_kv_heads=2)
    cache = ex.KVCache()
    model(torch.randint(0, 40, (2, 11)), cache=cache)
    measured = sum(t.numel() * t.element_size() for t in cache.keys + cache.values)
    expected = ex.kv_cache_bytes(n_layers=3, n_kv_heads=2, head_dim=8, seq_len=11, batch_size=2,
                                 bytes_per_value=8)
    assert measured == expected, \
        f"kv_cache_bytes gives {expected}, but the cache of the tiny model holds {measured} bytes"


# ---- generate ----------------------------------------------------------------------------------

def test_uncached_generate_is_greedy():
    model = tiny_model()
    ids = torch.randint(0, 40, (2, 5))
    out = ex.generate(model, ids.clone(), max_new_tokens=8, use_cache=False)
    assert_equal(out, greedy_reference(model, ids, 8),
                 "without the cache, generate appends argmax(logits[:, -1]) at every step")


def test_cached_generation_equals_uncached():
    model = tiny_model()
    ids = torch.randint(0, 40, (3, 6))
    slow = ex.generate(model, ids.clone(), max_new_tokens=20, use_cache=False)
    fast = ex.generate(model, ids.clone(), max_new_tokens=20, use_cache=True)
    assert tuple(fast.shape) == (3, 26), "generate returns (B, T + max_new_tokens)"
    assert_equal(fast[:, :6], ids, "the output starts with the prompt")
    assert torch.equal(fast, slow), "cached generation produces exactly the tokens of uncached generation"


def test_cached_generation_feeds_one_token_per_step():
    model = tiny_model()
    ex.generate(model, torch.randint(0, 40, (1, 7)), max_new_tokens=5, use_cache=True)
    sizes = [t for t, _ in model.calls]
    assert sizes[0] == 7, "the first call (prefill) sees the whole prompt"
    assert sizes[1:] and all(t == 1 for t in sizes[1:]), \
        f"after the prompt the model sees one new token per call, got sizes {sizes}"
    starts = [s for _, s in model.calls]
    assert starts == [0] + list(range(7, 7 + len(starts) - 1)), \
        f"the cache grows by one token per step (cache length at each call: {starts})"


def test_cache_holds_the_prompt_and_the_generated_tokens():
    model = tiny_model(n_layers=2)
    captured = []

    class Spy(ex.KVCache):
        def update(self, layer, k, v):
            captured.append(self)
            return super().update(layer, k, v)

    original = ex.KVCache
    ex.KVCache = Spy
    try:
        ex.generate(model, torch.randint(0, 40, (1, 4)), max_new_tokens=6, use_cache=True)
    finally:
        ex.KVCache = original
    assert captured, "generate(use_cache=True) creates a KVCache and the model updates it"
    cache = captured[-1]
    assert cache.length in (9, 10), \
        f"after a 4-token prompt and 6 new tokens the cache holds 9 or 10 tokens, not {cache.length}"
    for i in range(2):
        assert cache.keys[i].shape[-2] == cache.length, f"layer {i} caches as many tokens as layer 0"
