"""Positional decay: how ALiBi and RoPE make attention favour nearby tokens.

Two position schemes used by today's LLMs both build in a preference for *recent* tokens, one
reason why a fact in the middle of a long context is easy to overlook.

ALiBi ("Train Short, Test Long", Press et al., arXiv 2108.12409) adds no position embedding.
Each head h adds a penalty proportional to the distance to the attention scores:

    scores[h, i, j] = q_i . k_j / sqrt(d) - m_h * |i - j|

The slopes m_h form a geometric sequence. For n heads, n a power of two, the first slope and
the ratio are both 2^(-8/n): 8 heads give 1/2, 1/4, ..., 1/256. The paper trains only such head
counts; for the others the authors' code (get_slopes in their repository) takes the p slopes of
p heads, p the largest power of two below n, and appends the slopes at 0-based indices
0, 2, 4, ... of the 2p-head schedule, n - p of them. Those are r^1, r^3, r^5, ... for the
2p-head ratio r = 2^(-4/p): the odd powers, which fall between the p-head slopes (the even
powers r^2, r^4, ... ARE the p-head slopes). 12 heads: 2^-1 ... 2^-8, then 2^-0.5, 2^-1.5,
2^-2.5, 2^-3.5.

RoPE (RoFormer, Su et al., arXiv 2104.09864) rotates each pair of query and key dimensions
(2k, 2k+1) by the angle position * theta_k, with theta_k = base^(-2k/d). Then q_m . k_n depends
only on r = m - n. Su et al. bound this product by a constant times

    B(r) = (2/d) * sum_{j=1}^{d/2} | S_j(r) |,    S_j(r) = sum_{k=0}^{j-1} exp(i * r * theta_k),

and B(r) decays (with ripples) as the distance r grows: far tokens can get less attention.

Your task: write alibi_slopes, alibi_bias and rope_decay_bound.
"""

import torch


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """The ALiBi slope of each head, float32 tensor (n_heads,).

    n a power of two: slope_h = 2^(-8 (h + 1) / n) for h = 0..n-1.
    Otherwise, with p the largest power of two below n: the p slopes of p heads, followed by
    the slopes at 0-based indices 0, 2, 4, ... of the 2p slopes of 2p heads, n - p of them.
    """
    ### TODO: write the power-of-two rule (a geometric sequence, first term = ratio = 2^(-8/n)),
    ###       then handle other head counts by interleaving, as the docstring says.
    def power_of_two_slopes(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (h + 1) for h in range(n)]

    p = 1 << (n_heads.bit_length() - 1)  # the largest power of two <= n_heads
    if p == n_heads:
        slopes = power_of_two_slopes(n_heads)
    else:
        slopes = power_of_two_slopes(p) + power_of_two_slopes(2 * p)[0::2][: n_heads - p]
    return torch.tensor(slopes, dtype=torch.float32)
    ### END


def alibi_bias(n_heads: int, seq_len: int) -> torch.Tensor:
    """The ALiBi bias added to the attention scores, float32 tensor (n_heads, seq_len, seq_len).

    bias[h, i, j] = -slope_h * |i - j|: 0 on the diagonal, more negative the farther key j is
    from query i. (A causal model only uses j <= i; the mask removes the rest.)
    """
    ### TODO: build the distance matrix |i - j| (seq_len, seq_len) and scale it by minus each
    ###       head's slope, broadcasting to (n_heads, seq_len, seq_len).
    pos = torch.arange(seq_len)
    distance = (pos[:, None] - pos[None, :]).abs().float()  # (T, T)
    slopes = alibi_slopes(n_heads)  # (H,)
    return -slopes[:, None, None] * distance  # (H, T, T)
    ### END


def rope_decay_bound(head_dim: int, max_distance: int, base: float = 10000.0) -> torch.Tensor:
    """RoFormer's relative upper bound B(r) for r = 0, 1, ..., max_distance.

    head_dim: d, even. theta_k = base^(-2k/d) for k = 0..d/2-1.
    Returns a float64 tensor (max_distance + 1,):
        B(r) = (2/d) * sum_{j=1}^{d/2} |S_j(r)|,  S_j(r) = sum_{k=0}^{j-1} exp(i r theta_k).
    B(0) = (d/2 + 1) / 2, and B(r) shrinks as r grows.
    """
    ### TODO: compute theta (d/2,), the phases r * theta (R, d/2) as complex exponentials,
    ###       their partial sums S_j along the frequency axis, then the mean of |S_j| over j.
    half = head_dim // 2
    theta = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / head_dim)  # (d/2,)
    r = torch.arange(max_distance + 1, dtype=torch.float64)  # (R,)
    phase = torch.polar(torch.ones(len(r), half, dtype=torch.float64), r[:, None] * theta)  # (R, d/2)
    partial_sums = phase.cumsum(dim=-1)  # (R, d/2): S_1 .. S_{d/2}
    return partial_sums.abs().mean(dim=-1)  # (R,)
    ### END
