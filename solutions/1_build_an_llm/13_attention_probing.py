"""Attention probing: open a trained model, read its attention maps, and find the head that copies.

The model (support/induction.py) is a two-layer attention-only transformer trained on sequences
that repeat a random segment: noise, then R random tokens, then the same R tokens again. It
predicts the second copy almost perfectly, and nobody told it how. Probing finds out: look at
where each head attends, score every head for the patterns you expect, and check by ablation that
the head you found is the one doing the work.

Two patterns make up the circuit ("In-context Learning and Induction Heads", arXiv 2209.11895):

- a previous-token head: every position t attends to position t - 1;
- an induction head: at position t holding token A, it attends to the position right AFTER the
  most recent earlier occurrence of A, whose token is the one to predict next.

You write:

- `attention_maps(model, ids)`: the attention weights of every layer, one (B, H, T, T) tensor per
  layer. The layers do not hand them out, so capture what each layer reads (a forward pre-hook on
  `model.layers[i]` sees its input x) and recompute the weights from its `qkv_proj`:
  softmax(q k^T / sqrt(head_dim)) under the causal mask. Remove the hooks afterwards, even if the
  forward pass fails, and build no autograd graph.
- `previous_token_score(attn)` and `induction_score(attn, ids)`: one number per head.
- `find_head(scores)`: the (layer, head) with the highest score.
- `ablate_head(model, layer, head)`: a context manager inside which that head's output is zero.

Every layer has the course's MultiHeadAttention layout: `qkv_proj` (d_model -> 3 d_model, output
[q | k | v]), head h owning features h*head_dim .. (h+1)*head_dim - 1 of each, `out_proj`
(d_model -> d_model), and the attributes `n_heads` and `head_dim`. None of the functions may
modify their inputs.
"""

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn as nn


def attention_maps(model: nn.Module, ids: torch.Tensor) -> list[torch.Tensor]:
    """The attention weights of each layer of `model` on `ids` (B, T).

    Returns a list with one tensor per layer in `model.layers`, of shape (B, n_heads, T, T):
    entry [b, h, i, j] is how much query i attends to key j (rows sum to 1, zero above the
    diagonal). Computed without gradients; the model is left without any hook.
    """
    ### TODO: register a forward pre-hook on every layer of model.layers that stores its input x
    ###       (inputs[0]); run the model under torch.no_grad() and remove every hook in a
    ###       `finally:`. Then for each layer: q, k = qkv_proj(x) split in three (drop v), cut into
    ###       heads (B, T, H, hs) -> (B, H, T, hs), scores q @ k^T / sqrt(hs), -inf above the
    ###       diagonal, softmax over the keys.
    inputs: list[torch.Tensor] = []
    handles = [layer.register_forward_pre_hook(lambda _module, args: inputs.append(args[0]))
               for layer in model.layers]
    try:
        with torch.no_grad():
            model(ids)
    finally:
        for handle in handles:
            handle.remove()
    maps = []
    with torch.no_grad():
        for layer, x in zip(model.layers, inputs, strict=True):
            B, T, C = x.shape
            q, k, _ = layer.qkv_proj(x).split(C, dim=-1)  # each (B, T, C)
            q, k = (t.view(B, T, layer.n_heads, layer.head_dim).transpose(1, 2) for t in (q, k))  # (B, H, T, hs)
            scores = q @ k.transpose(-2, -1) / math.sqrt(layer.head_dim)  # (B, H, T, T)
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            maps.append(scores.masked_fill(future, float("-inf")).softmax(dim=-1))
    return maps
    ### END


def previous_token_score(attn: torch.Tensor) -> torch.Tensor:
    """How much each head attends to the previous token: attn (B, H, T, T) -> (H,).

    The mean of attn[b, h, t, t - 1] over every sequence b and every position t >= 1: 1 for a
    head that always looks one step back, 0 for one that never does.
    """
    ### TODO: take the diagonal just below the main one (offset -1) of the last two axes,
    ###       and average it over the batch and the positions.
    below = torch.diagonal(attn, offset=-1, dim1=-2, dim2=-1)  # (B, H, T - 1): attn[..., t, t - 1]
    return below.mean(dim=(0, 2))
    ### END


def induction_score(attn: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """How much each head attends to where copying would look: attn (B, H, T, T), ids (B, T) -> (H,).

    For position t, let s be the most recent earlier position with the same token (s < t,
    ids[b, s] == ids[b, t], the largest such s). The induction target is s + 1, the token that
    followed it (s + 1 <= t). The score is the mean of attn[b, h, t, s + 1] over every (b, t)
    that has such an s; positions whose token is new are left out of the mean, not counted as 0.
    Raises ValueError if no position has an earlier occurrence.
    """
    ### TODO: same = ids[:, :, None] == ids[:, None, :], kept only for s < t (strictly below the
    ###       diagonal); s = the largest such index per (b, t) (e.g. the max of
    ###       torch.where(same, arange(T), -1) over the last axis), valid = s >= 0. Gather
    ###       attn[b, h, t, s + 1] (send invalid rows anywhere, then mask them) and average over
    ###       the valid (b, t).
    B, T = ids.shape
    earlier = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril(diagonal=-1)  # s < t
    same = (ids[:, :, None] == ids[:, None, :]) & earlier  # (B, T, T): [b, t, s]
    positions = torch.arange(T, device=ids.device)
    last = torch.where(same, positions, -1).amax(dim=-1)  # (B, T): most recent s, or -1
    valid = last >= 0
    if not bool(valid.any()):
        raise ValueError("no token occurs twice in ids: there is nothing to copy")
    target = (last + 1).clamp(min=0)  # (B, T); rows without a copy are masked below
    index = target[:, None, :, None].expand(B, attn.shape[1], T, 1)  # (B, H, T, 1)
    weight = attn.gather(-1, index).squeeze(-1)  # (B, H, T): attn[b, h, t, s + 1]
    return (weight * valid[:, None, :]).sum(dim=(0, 2)) / valid.sum()
    ### END


def find_head(scores: list[torch.Tensor]) -> tuple[int, int]:
    """The (layer, head) with the highest score; scores holds one (H,) tensor per layer.

    Layers may have different numbers of heads. Ties go to the earlier layer, then the lower head.
    """
    ### TODO: walk the layers in order and keep the first strict maximum.
    best, where = -math.inf, (0, 0)
    for layer, layer_scores in enumerate(scores):
        for head, value in enumerate(layer_scores.tolist()):
            if value > best:
                best, where = value, (layer, head)
    return where
    ### END


@contextlib.contextmanager
def ablate_head(model: nn.Module, layer: int, head: int) -> Iterator[None]:
    """Inside the `with` block, head `head` of `model.layers[layer]` contributes nothing.

    Zero ablation: the head's output (its head_dim features of the concatenated heads, where
    out_proj reads them) is replaced by zeros; out_proj's bias and the other heads are untouched.
    When the block ends, normally or by an exception, the model is exactly as before.
    """
    ### TODO: register a forward pre-hook on model.layers[layer].out_proj that returns its input
    ###       with features head*hs .. (head+1)*hs set to 0 (on a copy, not in place); yield; and
    ###       remove the hook in a `finally:`.
    attn = model.layers[layer]
    lo, hi = head * attn.head_dim, (head + 1) * attn.head_dim

    def zero_head(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        y = args[0].clone()  # (B, T, d_model): the heads side by side
        y[..., lo:hi] = 0.0
        return (y, *args[1:])

    handle = attn.out_proj.register_forward_pre_hook(zero_head)
    try:
        yield
    finally:
        handle.remove()
    ### END
