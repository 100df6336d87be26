"""Checks for bigram-mle: counts against a loop, closed forms, the MLE property, training vs counts.
Every call hands the learner copies of its inputs (support/untouched.py)."""

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("bigram-mle")
untouched = retreat.load_support("untouched")

V = 6


def markov_stream(n: int, vocab_size: int = V, seed: int = 0) -> torch.Tensor:
    """n token ids from a random Markov chain whose every transition has probability > 0."""
    g = torch.Generator().manual_seed(seed)
    T = torch.rand(vocab_size, vocab_size, generator=g) + 0.2
    T = T / T.sum(dim=1, keepdim=True)
    ids = torch.zeros(n, dtype=torch.long)
    for t in range(1, n):
        ids[t] = torch.multinomial(T[ids[t - 1]], 1, generator=g)
    return ids


def reference_counts(ids: torch.Tensor, vocab_size: int = V) -> torch.Tensor:
    """counts[a, b] by a plain loop over the pairs (the oracle for the learner's bigram_counts)."""
    counts = torch.zeros(vocab_size, vocab_size, dtype=torch.long)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
        counts[a, b] += 1
    return counts


def nll(probs: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of a bigram table on a stream."""
    return -probs[ids[:-1], ids[1:]].log().mean()


def weighted_kl(p: torch.Tensor, q: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_a weights[a] * KL(p[a] || q[a]), with 0 log 0 = 0."""
    kl_rows = (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=1)
    return (weights * kl_rows).sum()


def test_counts_match_a_loop():
    ids = torch.tensor([0, 1, 1, 2, 0, 1, 3, 3, 3, 0])
    assert_equal(untouched.call(ex.bigram_counts, ids, 4), reference_counts(ids, 4),
                 "counts[a, b] is how often token b directly follows token a")


def test_counts_cover_every_pair_once():
    ids = markov_stream(500)
    counts = untouched.call(ex.bigram_counts, ids, V)
    assert counts.shape == (V, V), f"counts have shape (V, V) = {(V, V)}, got {tuple(counts.shape)}"
    assert int(counts.sum()) == len(ids) - 1, "a stream of N tokens has N - 1 pairs, each counted once"
    assert_equal(counts.sum(dim=1), torch.bincount(ids[:-1], minlength=V),
                 "row a of the counts sums to the number of times a is followed by anything")


def test_probs_are_row_normalised_counts():
    counts = torch.tensor([[2, 0, 6], [1, 1, 2], [0, 5, 0]])
    expected = torch.tensor([[0.25, 0.0, 0.75], [0.25, 0.25, 0.5], [0.0, 1.0, 0.0]])
    assert_close(untouched.call(ex.bigram_probs, counts), expected,
                 "bigram_probs divides each row of counts by the row's total")


def test_smoothing_adds_k_to_every_count():
    counts = torch.tensor([[2, 0, 6], [1, 1, 2], [0, 5, 0]])
    k = 0.5
    expected = (counts + k) / (counts.sum(dim=1, keepdim=True) + 3 * k)
    assert_close(untouched.call(ex.bigram_probs, counts, smoothing=k), expected.float(),
                 "with smoothing k, P[a, b] = (counts[a, b] + k) / (row total + V * k)")


def test_unseen_context_gives_a_uniform_row():
    counts = torch.tensor([[3, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 0, 2]])
    probs = untouched.call(ex.bigram_probs, counts)
    assert bool(torch.isfinite(probs).all()), "a row with no counts gives no NaN (0 / 0)"
    assert_close(probs[1], torch.full((4,), 0.25), "a context never seen gets a uniform row")
    assert_close(probs.sum(dim=1), torch.ones(4), "every row of bigram_probs sums to 1")


def test_counted_probabilities_minimise_the_nll():
    ids = markov_stream(800)
    probs = untouched.call(ex.bigram_probs, untouched.call(ex.bigram_counts, ids, V))
    best = nll(probs, ids)
    g = torch.Generator().manual_seed(1)
    for mix in (0.3, 0.1, 0.01):
        other = torch.rand(V, V, generator=g)
        other = other / other.sum(dim=1, keepdim=True)
        perturbed = (1 - mix) * probs + mix * other
        assert bool(nll(perturbed, ids) > best), (
            f"moving the counted table {mix:.0%} towards another table raises the NLL "
            "(counting gives the maximum-likelihood bigram)")
    smoothed = untouched.call(ex.bigram_probs, untouched.call(ex.bigram_counts, ids, V), smoothing=1.0)
    assert bool(nll(smoothed, ids) > best), "smoothing raises the NLL on the data it was counted from"


def test_one_training_step_closed_form():
    ids = markov_stream(300)
    counts = reference_counts(ids).float()
    n = counts.sum()
    # From W = 0 every prediction is uniform, so the gradient of the mean loss is
    # (n_a / V - counts[a, b]) / N, and one step of size lr moves W by -lr times that.
    expected = 2.0 * (counts - counts.sum(dim=1, keepdim=True) / V) / n
    assert_close(untouched.call(ex.train_bigram, ids, V, steps=1, lr=2.0), expected,
                 "one step from W = 0 gives W = lr * (counts - row total / V) / number of pairs",
                 atol=1e-6, rtol=1e-4)


def test_trained_bigram_matches_the_counts():
    ids = markov_stream(2000)
    counts = reference_counts(ids)
    probs = counts.float() / counts.sum(dim=1, keepdim=True)
    W = untouched.call(ex.train_bigram, ids, V, steps=100, lr=10.0)
    assert W.shape == (V, V), f"train_bigram returns the (V, V) logit table, got {tuple(W.shape)}"
    assert not W.requires_grad, "train_bigram returns the table detached from autograd"
    weights = counts.sum(dim=1).float() / counts.sum()
    kl = float(weighted_kl(probs, torch.softmax(W, dim=1), weights))
    assert kl < 1e-3, (f"softmax of the trained logits matches the counted probabilities "
                       f"(KL = {kl:.2e}, must be < 1e-3)")
