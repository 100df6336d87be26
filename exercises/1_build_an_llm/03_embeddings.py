"""Token and position embeddings: the first layer of a GPT.

A token id becomes a vector by looking up a row of a learned table, W_tok[id]. Attention by
itself does not know the order of the tokens, so each position p adds a position vector P[p]:

    x[b, t] = W_tok[ids[b, t]] + P[t]          (B, T) ids -> (B, T, dim) vectors

P is either learned (GPT-2: another table trained with the model) or fixed sinusoids
(the original transformer, "Attention Is All You Need", section 3.5):

    P[p, 2i]     = sin(p / 10000^(2i / dim))
    P[p, 2i + 1] = cos(p / 10000^(2i / dim))

Write `sinusoidal_positions`, and the `__init__` and `forward` of `TokenAndPositionEmbedding`.
"""

import torch
import torch.nn as nn


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """The fixed sinusoidal position table, shape (n_positions, dim), float32; dim is even.

    Column pair (2i, 2i + 1) holds sin and cos of p * w_i, with frequency w_i = 10000^(-2i / dim):
    the first pair turns fastest (one radian per position), the last one very slowly.
    """
    assert dim % 2 == 0, "dim must be even: the columns come in (sin, cos) pairs"
    # TODO: build the angles p * w_i as a (n_positions, dim // 2) outer product (compute in
    #       float64), put their sines in the even columns and cosines in the odd columns,
    #       and return the table as float32.
    raise NotImplementedError


class TokenAndPositionEmbedding(nn.Module):
    """ids (B, T) -> token embedding + position embedding, (B, T, dim); T <= context_length."""

    def __init__(self, vocab_size: int, context_length: int, dim: int, learned: bool = True):
        super().__init__()
        # TODO: self.tok_emb = an nn.Embedding with one row per token id. self.pos_emb = an
        #       nn.Embedding with one row per position: trainable if `learned`, otherwise
        #       holding sinusoidal_positions(context_length, dim), frozen
        #       (nn.Embedding.from_pretrained with freeze=True does that).
        pass

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, dim): row ids[b, t] of tok_emb plus row t of pos_emb."""
        # TODO: look up the tokens, look up positions 0..T-1 (on the same device as ids),
        #       and add them; the (T, dim) positions broadcast over the batch.
        raise NotImplementedError
