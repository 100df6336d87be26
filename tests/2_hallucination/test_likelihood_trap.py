"""Checks for likelihood-trap.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import math

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("likelihood-trap")
hw = retreat.load_support("hallucination_world")


def seeded(seed):
    return torch.Generator().manual_seed(seed)


# ---- diversity measures ------------------------------------------------------------------------

def test_distinct_n_on_small_examples():
    seq = [1, 2, 1, 2, 1, 2]
    for n, expected in [(1, 2 / 6), (2, 2 / 5), (3, 2 / 4)]:
        assert_close(ex.distinct_n(list(seq), n), expected,
                     f"distinct_{n} of 1 2 1 2 1 2 is (distinct {n}-grams) / (len - {n} + 1)")
    assert_close(ex.distinct_n(torch.tensor(seq), 2), 2 / 5, "distinct_n accepts a 1-D tensor")
    assert_close(ex.distinct_n([5, 6, 7, 8, 9], 3), 1.0, "no repeated 3-gram gives distinct_3 = 1")
    assert_close(ex.distinct_n([3, 3, 3, 3], 2), 1 / 3, "3 3 3 3 has one distinct bigram of three")
    assert_close(ex.distinct_n([1, 2], 3), 0.0, "a sequence shorter than n has distinct_n = 0.0")


def test_repetition_rate_on_small_examples():
    seq = [1, 2, 3, 1, 2, 3]
    assert_close(ex.repetition_rate(list(seq)), 3 / 5, "in 1 2 3 1 2 3 the last three tokens repeat "
                 "earlier ones: 3 of the 5 tokens after the first")
    assert_close(ex.repetition_rate(list(seq), window=3), 3 / 5,
                 "with window=3, token t looks back at tokens t-3, t-2, t-1")
    assert_close(ex.repetition_rate(list(seq), window=2), 0.0,
                 "with window=2, 1 2 3 1 2 3 has no repeat inside the window")
    assert_close(ex.repetition_rate(torch.tensor([4, 4, 4])), 1.0, "4 4 4 repeats every time")


def test_repetition_rate_matches_a_brute_force_count():
    g = seeded(1)
    for window in [1, 4, 16]:
        seq = torch.randint(6, (50,), generator=g).tolist()
        repeats = 0
        for t in range(1, len(seq)):
            previous = {seq[s] for s in range(len(seq)) if t - window <= s < t}
            repeats += seq[t] in previous
        assert_close(ex.repetition_rate(list(seq), window=window), repeats / 49,
                     f"repetition_rate(window={window}) on a random sequence")


# ---- the decoder and the scorer ----------------------------------------------------------------

def test_mean_logprob_of_a_short_sequence():
    P = torch.tensor([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7], [1.0, 0.0, 0.0]], dtype=torch.float64)
    expected = (math.log(0.5) + math.log(0.7) + math.log(1.0)) / 3
    assert_close(ex.mean_logprob(P.clone(), [0, 1, 2, 0]), expected,
                 "mean_logprob is the mean of log P[x_t, x_t+1] (row = current, column = next)")


def test_greedy_follows_the_most_likely_next_token():
    P = torch.rand(12, 12, generator=seeded(2), dtype=torch.float64)
    P = P / P.sum(-1, keepdim=True)
    seq = ex.generate_markov(P.clone(), start=5, steps=20, greedy=True)
    assert seq.shape == (21,) and seq.dtype == torch.long, "generate_markov returns (steps + 1,) long"
    assert int(seq[0]) == 5, "the sequence starts with `start`"
    assert_equal(seq[1:], P[seq[:-1]].argmax(-1), "each greedy token is the argmax of the row of "
                 "the token before it")


def test_sampling_is_seeded_and_follows_the_chain():
    P = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]], dtype=torch.float64)
    a = ex.generate_markov(P.clone(), 0, 2000, generator=seeded(3))
    assert_equal(a, ex.generate_markov(P.clone(), 0, 2000, generator=seeded(3)),
                 "the same generator seed gives the same sequence")
    counts = torch.zeros(3, 3, dtype=torch.float64)
    counts.index_put_((a[:-1], a[1:]), torch.ones(2000, dtype=torch.float64), accumulate=True)
    n = counts.sum(-1, keepdim=True)
    sigma = (P * (1 - P) / n).sqrt()
    assert ((counts / n - P).abs() <= 4 * sigma).all(), \
        f"with top_p=1 the sampled transition frequencies match P (got {counts / n})"


def test_samples_never_leave_the_nucleus():
    P = hw.loop_chain()
    seq = ex.generate_markov(P.clone(), 10, 300, top_p=0.9, generator=seeded(4))
    sorted_p, order = P.sort(-1, descending=True)
    in_nucleus = torch.zeros_like(P, dtype=torch.bool).scatter(
        -1, order, (sorted_p.cumsum(-1) - sorted_p) < 0.9)
    assert in_nucleus[seq[:-1], seq[1:]].all(), "with top_p=0.9 every sampled token lies in the " \
        "nucleus of the row it was sampled from (use your top_p_filter)"


# ---- the trap ----------------------------------------------------------------------------------

def test_greedy_loops_and_nucleus_does_not():
    P = hw.loop_chain()
    greedy = ex.generate_markov(P.clone(), 10, 200, greedy=True)
    assert ex.distinct_n(greedy.clone(), 4) < 0.1, "greedy decoding falls into the 4-token loop " \
        f"(distinct_4 = {ex.distinct_n(greedy.clone(), 4):.3f})"
    assert ex.repetition_rate(greedy.clone()) > 0.9, "greedy decoding repeats itself"
    for seed in range(3):
        sample = ex.generate_markov(P.clone(), 10, 200, top_p=0.9, generator=seeded(seed))
        assert ex.distinct_n(sample.clone(), 4) > 0.6, f"a nucleus sample (top_p=0.9, seed {seed}) does " \
            f"not loop (distinct_4 = {ex.distinct_n(sample.clone(), 4):.3f})"
        assert ex.mean_logprob(P.clone(), greedy.clone()) > ex.mean_logprob(P.clone(), sample.clone()) + 1.0, \
            "the looping greedy text is far more likely under the model than a nucleus sample " \
            "(the likelihood trap)"


def test_greedy_ties_go_to_the_lowest_id():
    P = torch.tensor([[0.1, 0.45, 0.0, 0.45], [0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0],
                      [0.2, 0.4, 0.4, 0.0]], dtype=torch.float64)
    assert_equal(ex.generate_markov(P.clone(), 0, 4, greedy=True).tolist(), [0, 1, 0, 1, 0],
                 "greedy decoding takes the lowest id among tied most likely tokens (as torch.argmax)")


def test_inputs_are_not_changed():
    P = hw.loop_chain()
    tokens = [10, 3, 0, 1, 2]
    P_copy, tokens_copy = P.clone(), list(tokens)
    ex.generate_markov(P, 10, 20, top_p=0.9, generator=seeded(5))
    ex.generate_markov(P, 10, 20, greedy=True)
    ex.mean_logprob(P, tokens)
    ex.distinct_n(tokens, 2)
    ex.repetition_rate(tokens)
    assert_equal(P, P_copy, "the transition matrix is left unchanged")
    assert tokens == tokens_copy, "the token list is left unchanged"
