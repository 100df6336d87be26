"""Attention sinks: a fixed-size KV cache that lets a model stream forever (StreamingLLM).

A plain sliding-window cache (keep only the last `window` tokens) breaks a pretrained model as
soon as the first tokens fall out of it: "Efficient Streaming Language Models with Attention
Sinks" (arXiv 2309.17453) shows that models park a large share of their attention on the first
few tokens, whatever they say, and fall apart without them. The fix is to keep those first
`n_sinks` tokens for ever, plus the most recent `window`:

    cache = [ t_0 ... t_{n_sinks-1} | t_{T-window} ... t_{T-1} ]      (at most n_sinks + window)

You write the cache and the attention mask it is equivalent to. When the new tokens come one at
a time, query i sees the sinks, the `window` tokens before it and itself: exactly `sink_mask`.

The cache stores whatever keys it is given. (StreamingLLM also gives RoPE positions *within the
cache* rather than in the original text; a model does that by caching keys before rotation.)
"""

import torch


def sink_mask(seq_len: int, n_sinks: int, window: int) -> torch.Tensor:
    """(seq_len, seq_len) bool mask, True where query i may attend to key j.

    Allowed: j <= i (causal) and either j is a sink (j < n_sinks) or j is recent (j >= i - window).
    """
    # TODO: build query and key index grids with torch.arange and combine the three conditions.
    raise NotImplementedError


class SinkCache:
    """A per-layer KV cache holding the first `n_sinks` tokens and the last `window` tokens.

    Keys and values are (B, H, t, head_dim); a layer's cache grows along the sequence axis (-2).
    """

    def __init__(self, n_sinks: int, window: int):
        assert window >= 1, "the window must hold at least one token"
        self.n_sinks = n_sinks
        self.window = window
        self.keys: list[torch.Tensor] = []  # per layer, (B, H, <= n_sinks + window, head_dim)
        self.values: list[torch.Tensor] = []

    @property
    def length(self) -> int:
        """How many tokens the cache holds now (layer 0's count; 0 when empty)."""
        return self.keys[0].shape[-2] if self.keys else 0

    def keep(self, x: torch.Tensor) -> torch.Tensor:
        """What the cache keeps of x (B, H, t, D): all of it if t <= n_sinks + window, else the
        first n_sinks and the last window positions, in order."""
        # TODO: if x is short enough, return it; otherwise concatenate its first n_sinks and
        #       last window rows along the sequence axis (-2). Careful: x[..., -0:, :] is all of x.
        raise NotImplementedError

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new keys and values (B, H, t, D) of `layer`; return what the new queries attend to.

        Returns (k_all, v_all): the layer's cached tokens followed by the new ones, *before*
        eviction, so a long prompt given in one chunk still sees all of itself. Then the layer's
        cache keeps only `keep(...)` of that, so it never holds more than n_sinks + window tokens.
        Layers are updated in order: layer 0 first, and `layer == len(self.keys)` means a new layer.
        """
        # TODO: concatenate the layer's cache (if any) with k and v along -2, store keep(...) of
        #       the result as the layer's new cache, and return the concatenation.
        raise NotImplementedError
