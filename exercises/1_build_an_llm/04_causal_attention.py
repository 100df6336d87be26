"""Causal scaled dot-product attention.

Attention lets every position build its output as a weighted average of the values `v`; the
weights come from how well its query matches each key:

    weights = softmax(q @ k^T * scale)      (one row per query, each row sums to 1)
    output  = weights @ v

A decoder (GPT) must not look ahead: with `causal=True`, a query may only attend to keys at
its own position or before, so the scores of later keys are set to -inf before the softmax and
get weight 0.

With as many queries as keys, query i sits at position i and sees keys 0..i. With fewer queries
than keys (T_q < T_k: new tokens attending to the keys of a cache), the queries are the LAST T_q
positions of the sequence: query i sits at position T_k - T_q + i and sees keys 0..T_k - T_q + i.
The causal triangle is aligned to the bottom-right corner of the (T_q, T_k) score matrix.
Careful: PyTorch's `is_causal=True` aligns it to the top-left corner instead (query i sees keys
0..i whatever T_k is), so it agrees with this function only when T_q == T_k.

Write `scaled_dot_product_attention` by hand. It must agree with PyTorch's
`torch.nn.functional.scaled_dot_product_attention` (which you may not call here), given the
explicit mask above; `torch.softmax` is allowed. Do not modify q, k, v or mask (scale with
`q * s` or on the scores, never `q *= s`).
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
        returns (..., T_q, hs_v), in the dtype of q, k and v (float32, bfloat16...)

    mask:   optional boolean tensor broadcastable to (..., T_q, T_k), e.g. (T_q, T_k) for every
            batch and head, or (B, 1, 1, T_k) to hide padded keys; True where query i MAY attend
            to key j, False where it may not.
    causal: if True, query i attends only to keys j <= i + (T_k - T_q): the lower triangle,
            diagonal included, aligned to the bottom-right corner (the queries are the last T_q
            positions; needs T_q <= T_k). Combined with `mask` when both are given: a key must be
            allowed by both.
    scale:  the factor applied to q @ k^T; None means 1 / sqrt(hs). Any other number is used as
            given, 0.0 included (then every allowed key gets the same weight).
    """
    # TODO: compute the scores q @ k^T times the scale (default 1/sqrt(hs), hs = q's last dim),
    #       set the scores of disallowed keys to -inf (the causal triangle, shifted right by
    #       T_k - T_q, and/or `mask`), softmax over the keys (the last axis), and return the
    #       weighted sum of `v`.
    raise NotImplementedError
