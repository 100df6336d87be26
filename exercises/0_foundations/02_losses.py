"""Cross-entropy (with ignored positions and label smoothing) and mean squared error, by hand.

A language model is trained to make the observed next token likely. For one position with
logits x (one per class) and target class y, the loss is the negative log-probability of y:

    loss = -log softmax(x)[y] = logsumexp(x) - x[y]

averaged over positions. Two refinements every LLM trainer uses:

- `ignore_index`: positions whose target equals it (padding, prompt tokens) contribute nothing,
  and the average is over the remaining positions only. If every position is ignored there is
  nothing to average: the result is NaN (0 / 0), exactly as F.cross_entropy returns.
- `label_smoothing` eps: the target distribution puts 1 - eps on y and spreads eps evenly over
  all C classes, so the loss becomes (1 - eps) * (-log p[y]) + eps * mean_c(-log p[c]).

Write `cross_entropy` to agree with `torch.nn.functional.cross_entropy` (with the class axis
last, as logits come out of a language model) and `mse_loss` to agree with
`torch.nn.functional.mse_loss`. Use your own `log_softmax` from the softmax exercise: it already
computes float16 and bfloat16 logits in float32, and the loss keeps the logits' dtype.

Neither function may modify its inputs. In particular, do not overwrite the ignored targets in
`targets` (the caller's batch would lose its ignore marks): build a new tensor.
"""

import torch

import retreat

softmax = retreat.load_exercise("softmax")  # your softmax, log_softmax and logsumexp


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100,
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not `ignore_index`.

    logits: (..., C) float, e.g. (B, T, V) from a language model, or (N, C).
    targets: (...) int64 class ids in [0, C), or `ignore_index`; e.g. (B, T) or (N,).
    Returns a scalar tensor (shape ()), of the logits' dtype, differentiable w.r.t. the logits;
    NaN when every target is `ignore_index`.
    """
    # TODO: take log_softmax over the last axis; pick each position's target log-probability
    #       with gather (send ignored targets to class 0 first so gather stays in range);
    #       mix in label smoothing as eps times the mean of -log p over all classes;
    #       average over the kept positions only (sum of masked losses / number kept).
    raise NotImplementedError


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over all elements of (pred - target)**2. pred, target: same shape. Returns shape ()."""
    # TODO: square the difference and average over every element.
    raise NotImplementedError
