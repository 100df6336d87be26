"""Tiled attention with an online softmax (the algorithm behind FlashAttention).

Plain attention builds the (Tq, Tk) matrix of scores, softmaxes it and multiplies by V. At
T = 4096 that matrix has 16.8 million entries per head: it dominates memory and, on a GPU, the
time spent moving data. FlashAttention never builds it. It walks over blocks of keys and keeps,
for each query row, three running quantities:

    m    the largest score seen so far                       (B, H, bq, 1)
    l    the sum of exp(score - m) over the keys seen so far  (B, H, bq, 1)
    acc  the sum of exp(score - m) * v over the same keys     (B, H, bq, hs)

For each new block of scores s (scaled by 1/sqrt(head_dim)):

    m_new = max(m, rowmax(s))
    p     = exp(s - m_new)
    alpha = exp(m - m_new)            # rescales what was accumulated under the old maximum
    l     = alpha * l + rowsum(p)
    acc   = alpha * acc + p @ v_block
    m     = m_new

At the end, out = acc / l, and lse = m + log(l) is the log-sum-exp of the row's scores (useful
to merge attention computed over separate sets of keys). This is the "online softmax" of
Milakov & Gimelshein (arXiv 1805.02867).

Tile both axes, in FlashAttention-2's order (arXiv 2307.08691): the OUTER loop runs over blocks
of block_size queries, the inner loop over blocks of block_size keys, so each query block keeps
its m, l and acc to itself and divides by l once at the end. (FlashAttention-1, arXiv 2205.14135,
Algorithm 1, loops the other way round: keys outside, queries inside, rescaling every query
block's partial output at each step.) No intermediate tensor may be larger than a
(block_size, block_size) tile of scores per head (or the output): in particular, never the full
(Tq, Tk) matrix or mask.

Causal masking with Tq <= Tk: the Tq queries are the LAST Tq positions of the Tk keys (as when
new tokens attend over a KV cache, and as the flash-attn library aligns its causal mask), so
query i sits at position Tk - Tq + i and may attend to keys 0 .. Tk - Tq + i. For Tq == Tk that
is the usual causal mask (PyTorch's is_causal=True); PyTorch aligns a non-square is_causal mask
to the top-left instead, which is not what a cache needs.

Your task: write flash_attention. It returns new tensors and never writes into q, k or v.
"""

import math  # noqa: F401 (math.sqrt is yours to call)

import torch


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    block_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention computed tile by tile.

    q: (B, H, Tq, hs); k, v: (B, H, Tk, hs), with Tq <= Tk when causal.
    Returns (out, lse): out (B, H, Tq, hs), as softmax(q k^T / sqrt(hs)) v;
    lse (B, H, Tq), the log-sum-exp over keys of each row of scaled (and masked) scores.
    With causal=True, query i sees keys 0 .. Tk - Tq + i (aligned to the end).
    """
    # TODO: loop over blocks of queries [qs, qe). For each, start with m = -inf, l = 0,
    #       acc = 0 and loop over blocks of keys [ks, ke). With causal, query i sits at
    #       position Tk - Tq + i: keys at or after Tk - Tq + qe are all in the future, stop
    #       before them, and mask a key kv of the block when kv > Tk - Tq + i (build the
    #       (bq, bk) mask from global indices). Compute the block's scaled scores (without
    #       writing into q), update m, l and acc as above. Collect acc / l and (m + log l)
    #       per query block; concatenate them.
    raise NotImplementedError
