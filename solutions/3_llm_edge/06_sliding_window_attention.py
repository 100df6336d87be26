"""Sliding-window attention: each token attends only to the last `window` tokens.

Full causal attention lets query q read every key kv <= q, so its cost and its KV cache grow
with the sequence. Sliding-window attention (Longformer, Mistral 7B) keeps only a band:

    query q may attend to key kv   if and only if   q - window < kv <= q

so every query sees at most `window` keys, itself included: `window` is the number of most
recent keys a query sees (the same meaning in attention-sinks). Information still travels further
than the window: after L layers a token can be influenced by tokens up to L * (window - 1) back.

Because nothing older than window - 1 tokens is ever read again, a long prompt can be processed
in chunks while keeping only the last window - 1 keys and values of the previous chunks (Mistral's
"rolling buffer" cache and "chunked prefill"). The result is exactly that of one full pass.

Layout: q, k, v are (batch, heads, seq, head_dim). When q has fewer positions than k, the
queries are the LAST positions of the sequence that k covers (as during chunked prefill).

Your task: write sliding_window_mask, sliding_window_attention and chunked_prefill.
"""

import math  # noqa: F401 (math.sqrt is yours to call)

import torch


def sliding_window_mask(seq_len: int, window: int) -> torch.Tensor:
    """(seq_len, seq_len) bool mask, True where query q (row) may attend to key kv (column):
    kv <= q and kv > q - window."""
    ### TODO: build the query and key indices with torch.arange, broadcast them to a
    ###       (seq_len, seq_len) grid and combine the two conditions.
    q = torch.arange(seq_len)[:, None]  # (T, 1)
    kv = torch.arange(seq_len)[None, :]  # (1, T)
    return (kv <= q) & (kv > q - window)
    ### END


def sliding_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                             window: int) -> torch.Tensor:
    """Softmax attention under the sliding-window mask, scaled by 1/sqrt(head_dim).

    q: (B, H, Tq, hs); k, v: (B, H, Tk, hs) with Tq <= Tk. Query i sits at position
    Tk - Tq + i of the key sequence. Returns (B, H, Tq, hs).
    """
    ### TODO: build the (Tk, Tk) mask and keep its last Tq rows; compute the scaled scores,
    ###       fill the disallowed ones with -inf, softmax over the keys, multiply by v.
    Tq, Tk = q.shape[-2], k.shape[-2]
    mask = sliding_window_mask(Tk, window)[Tk - Tq:]  # (Tq, Tk)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
    ### END


def chunked_prefill(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int,
                    chunk_size: int) -> torch.Tensor:
    """Sliding-window attention over a whole sequence, chunk_size queries at a time, keeping only
    the last window - 1 keys and values of earlier chunks. Equals sliding_window_attention(q, k, v,
    window). q, k, v: (B, H, T, hs) -> (B, H, T, hs). Call sliding_window_attention for each chunk.
    """
    ### TODO: loop over chunks of chunk_size positions. For each, append its keys and values
    ###       to the kept ones, attend the chunk's queries over them with
    ###       sliding_window_attention, then keep only the last window - 1 positions for the
    ###       next chunk (careful: x[..., -0:, :] is all of x, not none of it).
    ###       Concatenate the chunks' outputs along the sequence axis.
    T = q.shape[-2]
    past_k, past_v = k[..., :0, :], v[..., :0, :]  # (B, H, 0, hs): nothing kept yet
    outputs = []
    for start in range(0, T, chunk_size):
        end = min(start + chunk_size, T)
        k_all = torch.cat([past_k, k[..., start:end, :]], dim=-2)  # (B, H, kept + chunk, hs)
        v_all = torch.cat([past_v, v[..., start:end, :]], dim=-2)
        outputs.append(sliding_window_attention(q[..., start:end, :], k_all, v_all, window))
        keep = max(k_all.shape[-2] - (window - 1), 0)
        past_k, past_v = k_all[..., keep:, :], v_all[..., keep:, :]  # at most window - 1 positions
    return torch.cat(outputs, dim=-2)
    ### END
