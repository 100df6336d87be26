"""A bigram language model, twice: by counting, and by gradient descent on the cross-entropy.

A bigram model predicts the next token from the current one only: it is a table P of shape
(V, V) where row a is the distribution P(next = b | current = a). Given a stream of token ids,
the maximum-likelihood table is found by counting: count how often each pair (a, b) occurs and
normalise every row. Nothing can beat it on the data it was counted from.

The same model can be trained as a neural network: a (V, V) table of logits W, where row a holds
the logits of the next token after a, trained by gradient descent on the mean cross-entropy of
predicting ids[t + 1] from ids[t]. Its softmax should converge to the counted table.

Write:

- `bigram_counts(ids, vocab_size)`: the (V, V) table of pair counts.
- `bigram_probs(counts, smoothing)`: the row-normalised table, with `smoothing` added to every
  count first ("add-k" smoothing, so unseen pairs keep a little probability).
- `train_bigram(ids, vocab_size, steps, lr)`: plain gradient descent on W, starting from zeros,
  using your `cross_entropy` from the losses exercise.
"""

import torch

import retreat

losses = retreat.load_exercise("losses")  # your cross_entropy


def bigram_counts(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Count consecutive pairs: counts[a, b] = number of t with ids[t] == a and ids[t + 1] == b.

    ids: (N,) int64 token ids in [0, vocab_size). Returns (V, V) int64; its sum is N - 1.
    """
    ### TODO: give each pair (ids[t], ids[t + 1]) a single index a * V + b, count the indices
    ###       (torch.bincount with minlength=V * V) and reshape to (V, V).
    pairs = ids[:-1] * vocab_size + ids[1:]  # (N - 1,)
    return torch.bincount(pairs, minlength=vocab_size * vocab_size).view(vocab_size, vocab_size)
    ### END


def bigram_probs(counts: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Row-normalise (counts + smoothing): P[a, b] = P(next = b | current = a).

    counts: (V, V) int64. Returns (V, V) float32 whose rows sum to 1. A row with no counts and
    no smoothing (a token never seen before another) is uniform, 1 / V everywhere.
    """
    ### TODO: add `smoothing` to the float counts, divide every row by its sum,
    ###       and make rows whose sum is 0 uniform (torch.where).
    c = counts.to(torch.float32) + smoothing  # (V, V)
    total = c.sum(dim=1, keepdim=True)  # (V, 1)
    return torch.where(total > 0, c / total, 1.0 / counts.size(1))
    ### END


def train_bigram(ids: torch.Tensor, vocab_size: int, steps: int, lr: float) -> torch.Tensor:
    """Fit a (V, V) logit table W by full-batch gradient descent; return it (detached).

    ids: (N,) int64. W starts at zeros (every next token equally likely). Each step: the logits
    for position t are row W[ids[t]], the targets are ids[t + 1], the loss is their mean
    cross-entropy, and W moves by -lr times its gradient. softmax(W[a]) is then P(next | a).
    """
    W = torch.zeros(vocab_size, vocab_size, requires_grad=True)
    ### TODO: for `steps` steps: look up the logits W[ids[:-1]], compute losses.cross_entropy
    ###       against ids[1:], clear the old gradient, backpropagate, and update W in place
    ###       under torch.no_grad().
    for _ in range(steps):
        logits = W[ids[:-1]]  # (N - 1, V)
        loss = losses.cross_entropy(logits, ids[1:])
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
    ### END
    return W.detach()
