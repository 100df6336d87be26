"""A tiny attention-only transformer that learns to copy, for the attention-probing exercise.

The task: each sequence is random noise, then R distinct random tokens, then the same R tokens
again (R varies from 4 to 10, so no fixed offset solves it). Once the model has seen the first
copy, every token of the second copy can be predicted by looking back: find where the current
token occurred before, and predict the token that followed it. Two-layer attention-only models
learn exactly that, with an induction head ("In-context Learning and Induction Heads", arXiv
2209.11895).

The model has no MLP and no LayerNorm ("A Mathematical Framework for Transformer Circuits",
transformer-circuits.pub, 2021): token and position embeddings, two attention layers that add to
the residual stream, and an unembedding. Its attention layers have the layout of the course's
MultiHeadAttention (qkv_proj whose output is [q | k | v], heads cut from the last axis, scores
scaled by 1/sqrt(head_dim), causal, out_proj); layer 0 has two heads, layer 1 one.

    induction = retreat.load_support("induction")
    model = induction.trained_model()                # trained once per process (about 10 s)
    ids, first = induction.repeated_sequences(64, torch.Generator().manual_seed(1))
    induction.copy_loss(model, ids, first)           # about 0.1 nats; about 3.5 for a guess
"""

from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 32
SEQ_LEN = 24
MIN_PERIOD, MAX_PERIOD = 4, 10
D_MODEL = 24
HEADS = (2, 1)  # attention heads of layer 0 and layer 1


class Attention(nn.Module):
    """Causal multi-head self-attention with the course's parameter layout."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.qkv_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model)."""
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
                   for t in self.qkv_proj(x).split(C, dim=-1))  # each (B, H, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, hs)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))  # heads side by side, mixed


class AttentionOnly(nn.Module):
    """ids (B, T) -> logits (B, T, VOCAB): embeddings, x = x + layer(x) per layer, unembedding."""

    def __init__(self, vocab: int = VOCAB, seq_len: int = SEQ_LEN, d_model: int = D_MODEL,
                 heads: tuple[int, ...] = HEADS):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(seq_len, d_model)
        self.layers = nn.ModuleList(Attention(d_model, h) for h in heads)
        self.unembed = nn.Linear(d_model, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.shape[1], device=ids.device))
        for layer in self.layers:
            x = x + layer(x)  # each layer reads the residual stream and adds to it
        return self.unembed(x)


def repeated_sequences(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of SEQ_LEN ids: noise, then R distinct tokens, then the same R tokens again.

    Returns ids (n, SEQ_LEN) and first (n,), the position where each second copy starts
    (SEQ_LEN - R). From position first on, the next token is predictable by copying.
    """
    period = torch.randint(MIN_PERIOD, MAX_PERIOD + 1, (n, 1), generator=generator)  # R per row
    tokens = torch.rand(n, VOCAB, generator=generator).argsort(dim=1)  # distinct tokens per row
    noise = torch.randint(0, VOCAB, (n, SEQ_LEN), generator=generator)
    t = torch.arange(SEQ_LEN)[None, :]
    start = SEQ_LEN - 2 * period  # where the first copy begins
    copies = tokens.gather(1, (t - start) % period)  # both copies, read from the same R tokens
    return torch.where(t >= start, copies, noise), (SEQ_LEN - period).squeeze(1)


def copy_loss(model: nn.Module, ids: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the predictions that copying can make: positions first..T-2."""
    logits = model(ids)[:, :-1]  # (B, T - 1, V): position t predicts ids[t + 1]
    per_token = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")  # (B, T - 1)
    keep = torch.arange(ids.shape[1] - 1, device=ids.device)[None, :] >= first[:, None]
    return (per_token * keep).sum() / keep.sum()


@functools.cache
def trained_model(seed: int = 0, steps: int = 400) -> AttentionOnly:
    """The model trained with Adam on repeated_sequences; deterministic, cached per process.

    Returned in eval mode with every parameter frozen (requires_grad False). The global random
    state and thread count are left as they were.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread, and a busy machine
    try:  # with several threads per process can make it ten times slower
        return _train(seed, steps).eval().requires_grad_(False)
    finally:
        torch.set_num_threads(threads)


def _train(seed: int, steps: int) -> AttentionOnly:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = AttentionOnly()
        data = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(steps):
            ids, first = repeated_sequences(64, data)
            loss = copy_loss(model, ids, first)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model
