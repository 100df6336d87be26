"""Attention sinks: a fixed-size KV cache that lets a model stream forever (StreamingLLM).

A plain sliding-window cache (keep only the most recent tokens) breaks a pretrained model as
soon as the first tokens fall out of it: "Efficient Streaming Language Models with Attention
Sinks" (arXiv 2309.17453) shows that models park a large share of their attention on the first
few tokens, whatever they say, and fall apart without them. The fix is to keep those first
`n_sinks` tokens for ever, next to a window of recent ones.

`window` means what it means in sliding-window-attention: the number of most recent keys a query
sees, itself included. So when tokens come one at a time, query i sees the sinks and keys
i - window + 1 .. i, which is exactly `sink_mask`; between steps the cache holds the sinks and the
last window - 1 tokens (the next query brings itself):

    cache = [ t_0 ... t_{n_sinks-1} | t_{T-window+1} ... t_{T-1} ]     (at most n_sinks + window - 1)

Positions (section 3.2 of the paper). Once tokens have been evicted, the cached keys are no longer
contiguous in the text. StreamingLLM gives RoPE positions by place IN THE CACHE, not in the
original text: if the cache holds tokens [0, 1, 2, 3, 6, 7, 8] and token 9 arrives, the keys are
rotated as positions 0..7 and the new query as position 7. Relative distances then never exceed
what the model saw in training. To make that possible the cache stores keys BEFORE RoPE, and the
rotation is applied to all cached keys at every step: `sink_attention` does that, with your
rope_cos_sin and apply_rope.

You write sink_mask, SinkCache.keep, SinkCache.update and sink_attention.
"""

import math  # noqa: F401 (math.sqrt is yours to call)

import torch
import torch.nn.functional as F  # noqa: F401 (F.scaled_dot_product_attention is yours to call)

import retreat

_rope = retreat.load_exercise("rope")
rope_cos_sin, apply_rope = _rope.rope_cos_sin, _rope.apply_rope


def sink_mask(seq_len: int, n_sinks: int, window: int) -> torch.Tensor:
    """(seq_len, seq_len) bool mask, True where query i may attend to key j.

    Allowed: j <= i (causal) and either j is a sink (j < n_sinks) or j is one of the `window`
    most recent keys of query i, itself included (j > i - window). With n_sinks = 0 this is
    sliding_window_mask(seq_len, window).
    """
    # TODO: build query and key index grids with torch.arange and combine the three conditions.
    raise NotImplementedError


class SinkCache:
    """A per-layer KV cache holding the first `n_sinks` tokens and the last `window - 1` tokens.

    Keys are stored un-rotated (before RoPE); keys and values are (B, H, t, head_dim) and a layer's
    cache grows along the sequence axis (-2).
    """

    def __init__(self, n_sinks: int, window: int):
        assert window >= 1, "the window holds at least the query itself"
        self.n_sinks = n_sinks
        self.window = window
        self.keys: list[torch.Tensor] = []  # per layer, (B, H, <= n_sinks + window - 1, head_dim)
        self.values: list[torch.Tensor] = []
        self.seen = 0  # tokens given to layer 0 so far, evicted ones included: their text positions

    @property
    def length(self) -> int:
        """How many tokens the cache holds now (layer 0's count; 0 when empty)."""
        return self.keys[0].shape[-2] if self.keys else 0

    def keep(self, x: torch.Tensor) -> torch.Tensor:
        """What the cache keeps of x (B, H, t, D) between steps: all of it if t <= n_sinks +
        window - 1, else the first n_sinks and the last window - 1 positions, in order."""
        # TODO: if x is short enough, return it; otherwise concatenate its first n_sinks and
        #       last window - 1 rows along the sequence axis (-2). Careful with window = 1:
        #       x[..., -0:, :] is all of x, not none of it; slice from t - (window - 1).
        raise NotImplementedError

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new keys (un-rotated) and values (B, H, t, D) of `layer`; return what the new
        queries attend to.

        Returns (k_all, v_all): the layer's cached tokens followed by the new ones, *before*
        eviction, so a long prompt given in one chunk still sees all of itself. Then the layer's
        cache keeps only `keep(...)` of that. Layers are updated in order: layer 0 first, and
        `layer == len(self.keys)` means a new layer. k and v are never modified.
        """
        if layer == 0:
            self.seen += k.shape[-2]
        # TODO: concatenate the layer's cache (if any) with k and v along -2, store keep(...) of
        #       the result as the layer's new cache, and return the concatenation.
        raise NotImplementedError


def sink_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cache: SinkCache, layer: int = 0,
                   base: float = 10000.0) -> torch.Tensor:
    """One attention step of a streaming layer, with RoPE positions given by place in the cache.

    q, k, v: (B, H, T, D), the new tokens' queries, keys and values, NOT rotated yet. Updates
    `cache` (layer `layer`) with k, v and returns (B, H, T, D): softmax attention, scaled by
    1/sqrt(D), of the new queries over the S keys update() returns, where key s is rotated as
    position s (its place in the cache) and new query t sits at position S - T + t and sees keys
    0 .. S - T + t.
    """
    # TODO: k_all, v_all = cache.update(layer, k, v); S = their length, T = q's; cos, sin =
    #       rope_cos_sin(torch.arange(S), D, base); rotate k_all with all S rows, q with the
    #       last T rows; attend with the mask torch.ones(T, S).tril(diagonal=S - T) (bool, True
    #       = allowed). The values are never rotated.
    raise NotImplementedError
