"""A KV cache, and greedy generation that uses it.

Without a cache, generating token t+1 runs the model over all t+1 tokens again, although the
keys and values of tokens 0..t-1 are exactly what they were at the previous step (a causal
model's past never depends on its future). A KV cache keeps each layer's keys and values, so
each step runs only the newest token through the model instead of the whole prefix: generating
T tokens costs T token-passes instead of about T^2 / 2.

The model protocol (the capstone Llama implements it; the tests use a tiny model that does):

    logits = model(ids, cache=cache)

    ids     (B, T_new) token ids of the NEW tokens only: the whole prompt on the first call
            ("prefill"), then one token per call.
    cache   a KVCache, or None for no caching (then ids is the whole sequence, positions 0..T-1).
    logits  (B, T_new, vocab), one row per new token.

    Inside, the model reads start = cache.length BEFORE any layer updates the cache: the new
    tokens sit at positions start, ..., start + T_new - 1 (that is where RoPE must rotate them).
    Attention layer i computes k, v for the new tokens, calls
        k_all, v_all = cache.update(i, k, v)
    and attends its T_new queries over all start + T_new keys, new query t seeing keys
    0 .. start + t. Without a cache it attends over its own k, v with the usual causal mask.

Your task: write KVCache.update and KVCache.length, kv_cache_bytes (the memory formula), and
generate (greedy, with and without the cache). Cached and uncached generation must produce
exactly the same tokens.
"""

import torch


class KVCache:
    """Per-layer keys and values, each (B, n_kv_heads, t, head_dim), growing along t (axis -2)."""

    def __init__(self):
        self.keys: list[torch.Tensor] = []  # keys[i]: layer i's keys so far
        self.values: list[torch.Tensor] = []

    @property
    def length(self) -> int:
        """How many tokens are cached (layer 0's count; 0 when empty)."""
        # TODO: the size of layer 0's keys along the sequence axis, or 0 before any update.
        raise NotImplementedError

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v (B, G, t_new, hs) to layer `layer`; return all of its keys and values so far,
        each (B, G, t_total, hs). Layers are updated in order 0, 1, 2, ... the first time."""
        # TODO: on a layer's first update, store k and v; afterwards concatenate them after
        #       what is stored, along the sequence axis. Return the layer's full keys and values.
        raise NotImplementedError


def kv_cache_bytes(n_layers: int, n_kv_heads: int, head_dim: int, seq_len: int,
                   batch_size: int = 1, bytes_per_value: int = 2) -> int:
    """Memory of a full KV cache in bytes (bytes_per_value: 2 for float16/bfloat16, 4 for float32)."""
    # TODO: keys AND values, for every layer, kv head, position, sequence in the batch and
    #       coordinate of a head.
    raise NotImplementedError


@torch.no_grad()
def generate(model, ids: torch.Tensor, max_new_tokens: int, use_cache: bool = True) -> torch.Tensor:
    """Greedy decoding: append the most likely next token max_new_tokens times.

    ids: (B, T) prompt token ids. Returns (B, T + max_new_tokens), the prompt first.
    With use_cache, the model sees the prompt once, then only the newest token at each step.
    """
    # TODO: without the cache, call model(ids) on the whole sequence at every step.
    #       With it, create a KVCache, call model(ids, cache=cache) once on the prompt, then
    #       model(next_token, cache=cache) with only the (B, 1) newest token.
    #       Each step, the next token is the argmax of the last row of logits.
    raise NotImplementedError
