"""Causal scaled dot-product attention.

Attention lets every position build its output as a weighted average of the values `v`; the
weights come from how well its query matches each key:

    weights = softmax(q @ k^T * scale)      (one row per query, each row sums to 1)
    output  = weights @ v

A decoder (GPT) must not look ahead: with `causal=True`, query i may only attend to keys
0..i, so the scores of later keys are set to -inf before the softmax and get weight 0.

Write `scaled_dot_product_attention` by hand. It must agree with PyTorch's
`torch.nn.functional.scaled_dot_product_attention` (which you may not call here);
`torch.softmax` is allowed.
"""

import torch


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """Attention of the queries `q` over the keys `k` and values `v`.

    Shapes (any leading dimensions, usually (B, nh) = batch and heads):
        q: (..., T_q, hs)    k: (..., T_k, hs)    v: (..., T_k, hs_v)
        returns (..., T_q, hs_v)

    mask:   optional boolean tensor broadcastable to (..., T_q, T_k); True where query i MAY
            attend to key j, False where it may not.
    causal: if True, query i attends only to keys j <= i (the lower triangle, diagonal
            included, counted from the top-left corner as PyTorch does). Combined with `mask`
            when both are given: a key must be allowed by both.
    scale:  the factor applied to q @ k^T; None means 1 / sqrt(hs).
    """
    # TODO: compute the scores q @ k^T times the scale (default 1/sqrt(hs), hs = q's last dim),
    #       set the scores of disallowed keys to -inf (the causal triangle and/or `mask`),
    #       softmax over the keys (the last axis), and return the weighted sum of `v`.
    raise NotImplementedError
