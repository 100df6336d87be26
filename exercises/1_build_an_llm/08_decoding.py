"""Decoding: turn a language model's logits into text, one token at a time.

A model gives, for the last position, logits `(B, V)` over the next token. Decoding picks one
token per sequence, appends it, and runs the model again. You write the pieces:

- `apply_temperature(logits, t)`: divide by t; t < 1 sharpens the distribution, t > 1 flattens it.
- `top_k_filter(logits, k)`: keep the k largest logits of each row, set the others to -inf.
- `sample(logits, temperature=1.0, top_k=None, generator=None)`: one token id per row;
  temperature 0 means greedy (argmax).
- `generate(model, ids, max_new_tokens, ...)`: the autoregressive loop.

`generate` works with any model that maps ids `(B, T)` to logits `(B, T, V)`, and feeds it at
most the last `context_length` tokens when that is given. Sampling draws from `generator` (a
`torch.Generator`) when one is passed, so a seeded generator reproduces the same text.

Every function returns new tensors and leaves its inputs as they were (`logits / t`, not
`logits /= t`), and a batch of one row is still a batch: `sample` returns shape (1,) for (1, V).
"""

import torch
import torch.nn as nn


def apply_temperature(logits: torch.Tensor, t: float) -> torch.Tensor:
    """Logits scaled by temperature `t` > 0: `logits / t`. Any shape; returns the same shape."""
    if t <= 0:
        raise ValueError(f"temperature must be positive, got {t} (use sample(..., temperature=0) for greedy)")
    # TODO: divide the logits by the temperature.
    raise NotImplementedError


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the `k` largest logits along the last axis; set every other entry to -inf.

    logits: (..., V). Returns a new tensor of the same shape (the input is not modified).
    Ties: every entry equal to the k-th largest value is kept, so ties may keep more than k
    (k=2 keeps 5, 3 and 3 of [5, 3, 3, 1]); which of equal logits torch.topk happens to return
    does not matter. If k >= V, nothing is removed.
    """
    if k <= 0:
        raise ValueError(f"k must be at least 1, got {k}")
    # TODO: find the k-th largest value of each row (torch.topk) and set every entry below it
    #       to float("-inf") (masked_fill). Handle k >= V.
    raise NotImplementedError


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick one token id per row of `logits` (B, V); returns a LongTensor (B,).

    temperature == 0: greedy, the argmax of each row (no randomness).
    Otherwise: apply the temperature, then top-k filtering when `top_k` is given, turn the
    logits into probabilities with a softmax, and draw one id per row with
    `torch.multinomial(probs, 1, generator=generator)`.
    """
    # TODO: greedy when temperature == 0; otherwise temperature, optional top-k, softmax,
    #       and one multinomial draw per row using `generator`.
    raise NotImplementedError


def generate(model: nn.Module, ids: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, generator: torch.Generator | None = None,
             context_length: int | None = None) -> torch.Tensor:
    """Extend each sequence of `ids` (B, T) by `max_new_tokens` tokens; returns (B, T + max_new_tokens).

    At each step: crop the running sequence to its last `context_length` tokens (if given), run
    the model to get logits (B, T', V), keep the logits of the LAST position (B, V), `sample` the
    next token with `temperature`, `top_k` and `generator`, and append it.
    Runs in eval mode without gradients; the prompt is returned unchanged as the first T columns.
    """
    was_training = model.training
    model.eval()
    with torch.no_grad():
        # TODO: the loop: crop to the last `context_length` tokens, run the model, take the
        #       last position's logits, sample, and concatenate the new column to `ids`.
        raise NotImplementedError
    model.train(was_training)
    return ids
