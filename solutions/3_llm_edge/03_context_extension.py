"""Context extension: run a RoPE model on sequences longer than it was trained on.

A model trained on positions 0..L-1 has seen RoPE angles m * theta_i only for m < L. Beyond L
the slow pairs reach angles it never saw, and quality collapses. Two fixes change the
frequencies theta_i = base ** (-2i/D) (i = 0 .. D/2 - 1) by a factor s >= 1, the ratio of the
new context length to the trained one:

"linear" (Position Interpolation, arXiv 2306.15595): divide every frequency by s,

    theta_i' = theta_i / s

which is the same as squeezing positions m -> m / s, so that s * L positions fit in the angles
seen in training. Simple, but it also slows the fast pairs, blurring nearby positions.

"dynamic" (NTK-aware scaling): keep the formula but enlarge the base,

    base' = base * s ** (D / (D - 2)),     theta_i' = base' ** (-2i/D)

The exponent D/(D-2) is chosen so that the slowest pair (i = D/2 - 1) is divided by exactly s,
like linear interpolation, while the fastest pair (i = 0) keeps theta_0 = 1: local order stays
sharp and only long-range angles are compressed. In between, theta_i is divided by
s ** (2i / (D - 2)).

"Dynamic" because the scale is recomputed from the current sequence length T as it grows
(HuggingFace's "dynamic" rope type), with `factor` f and trained length L:

    s = max(1, f * T / L - (f - 1))          (s = 1 while T <= L: no change for short inputs)

Your task: write scaled_inv_freq and dynamic_scale. A factor of 1 gives the default
frequencies for both kinds.
"""

import torch


def scaled_inv_freq(head_dim: int, base: float = 10000.0, factor: float = 1.0,
                    kind: str = "linear") -> torch.Tensor:
    """The D/2 RoPE frequencies theta_i', float32 of shape (head_dim // 2,), scaled by `factor`
    as `kind` says ("linear" or "dynamic"); raise ValueError for any other kind."""
    ### TODO: exponents 2i / head_dim for i = 0 .. head_dim/2 - 1; for "linear", divide
    ###       base ** -exponent by factor; for "dynamic", use base * factor ** (D / (D - 2))
    ###       as the base instead. Any other kind raises ValueError.
    exponents = torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim  # (D/2,)
    if kind == "linear":
        return 1.0 / (base ** exponents) / factor
    if kind == "dynamic":
        ntk_base = base * factor ** (head_dim / (head_dim - 2))
        return 1.0 / (ntk_base ** exponents)
    raise ValueError(f"unknown kind {kind!r}: expected 'linear' or 'dynamic'")
    ### END


def dynamic_scale(seq_len: int, trained_len: int, factor: float) -> float:
    """The scale s that dynamic NTK uses at the current length: max(1, f*T/L - (f - 1))."""
    ### TODO: the formula above; it is 1 while seq_len <= trained_len.
    return max(1.0, factor * seq_len / trained_len - (factor - 1))
    ### END
