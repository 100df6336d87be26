"""Pause tokens: give a model extra computation steps before it has to answer.

"Think before you speak: Training Language Models With Pause Tokens" (arXiv 2310.02226) adds a
learnable token `<pause>` to the vocabulary. Each pause is one more position whose hidden states
every later position can attend to: extra computation, with nothing to say. The recipe:

- pretraining: insert pauses at uniformly random places in each training sequence;
- fine-tuning and inference: append m pauses after the prompt, then read the answer after them;
- in the loss, never ask the model to *predict* a pause: targets that are pauses are ignored.

You write the three data helpers. Token ids are int64 tensors; the model is unchanged.
"""

import torch


def insert_pauses(ids: torch.Tensor, pause_id: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Insert `n` pause tokens at uniformly random places in a sequence, keeping its order.

    ids: (T,) token ids. Returns (T + n,): the same tokens in the same order, with `pause_id` at
    n positions drawn uniformly among the T + n slots (the first and the last slot included),
    using `generator` for every random draw, so a seeded generator gives the same result.
    """
    ### TODO: draw n distinct slots out of T + n (torch.randperm with the generator), fill a
    ###       (T + n,) tensor with pause_id, and write ids, in order, into the other slots.
    T = ids.shape[0]
    slots = torch.randperm(T + n, generator=generator)[:n]
    is_pause = torch.zeros(T + n, dtype=torch.bool)
    is_pause[slots] = True
    out = torch.full((T + n,), pause_id, dtype=ids.dtype)
    out[~is_pause] = ids
    return out
    ### END


def append_pauses(ids: torch.Tensor, pause_id: int, m: int) -> torch.Tensor:
    """Append `m` pause tokens after the last position: (..., T) -> (..., T + m)."""
    ### TODO: concatenate a (..., m) block of pause_id after ids along the last axis.
    pauses = torch.full((*ids.shape[:-1], m), pause_id, dtype=ids.dtype)
    return torch.cat([ids, pauses], dim=-1)
    ### END


def pause_loss_mask(targets: torch.Tensor, pause_id: int) -> torch.Tensor:
    """Which loss terms count: a bool tensor shaped like `targets`, False where the target is a pause.

    The masked mean of per-token losses, (loss * mask).sum() / mask.sum(), then ignores every
    prediction of a pause, like cross_entropy(..., ignore_index) would.
    """
    ### TODO: compare targets with pause_id.
    return targets != pause_id
    ### END
