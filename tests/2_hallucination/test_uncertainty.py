"""Checks for uncertainty.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import math

import torch
import torch.nn.functional as F
from torch.distributions import Categorical

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("uncertainty")


# ---- token_entropy -----------------------------------------------------------------------------

def test_entropy_matches_categorical():
    logits = torch.randn(4, 7, 11) * 3
    assert_close(ex.token_entropy(logits.clone()), Categorical(logits=logits).entropy(),
                 "token_entropy matches Categorical(logits=...).entropy() on (4, 7, 11) logits")


def test_uniform_logits_give_log_v():
    for V in [2, 10, 50257]:
        logits = torch.full((3, V), 1.7)
        assert_close(ex.token_entropy(logits.clone()), torch.full((3,), math.log(V)),
                     f"a uniform distribution over V = {V} tokens has entropy log V (in nats)")


def test_one_hot_gives_zero_entropy():
    logits = torch.full((2, 6), float("-inf"))
    logits[0, 3] = 0.5
    logits[1, 0] = -2.0
    h = ex.token_entropy(logits.clone())
    assert torch.isfinite(h).all(), "-inf logits (p = 0) add 0 to the entropy, not NaN"
    assert_close(h, torch.zeros(2), "a one-hot distribution (all other logits -inf) has entropy 0")
    sharp = torch.tensor([[0.0, -1e4, -1e4, -1e4]])
    assert_close(ex.token_entropy(sharp.clone()), torch.zeros(1), "a distribution with one logit "
                 "1e4 above the rest has entropy 0 (use log_softmax, not log(softmax))", atol=1e-5,
                 rtol=0)


def test_entropy_of_a_filtered_vocabulary():
    logits = torch.randn(5, 20)
    logits[:, ::3] = float("-inf")
    assert_close(ex.token_entropy(logits.clone()), Categorical(logits=logits).entropy(),
                 "with some logits -inf, the entropy is that of the remaining tokens")


def test_entropy_is_shift_invariant():
    logits = torch.randn(6, 9)
    assert_close(ex.token_entropy(logits.clone() + 100.0), ex.token_entropy(logits.clone()),
                 "adding a constant to every logit does not change the entropy", atol=1e-4,
                 rtol=1e-4)


def test_entropy_is_between_zero_and_log_v():
    h = ex.token_entropy(torch.randn(100, 13) * 5)
    assert (h >= -1e-6).all() and (h <= math.log(13) + 1e-5).all(), "0 <= entropy <= log V"


# ---- sequence_logprob and perplexity -----------------------------------------------------------

def test_sequence_logprob_matches_cross_entropy():
    logits, targets = torch.randn(3, 8, 10), torch.randint(10, (3, 8))
    expected = -F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(-1)
    assert_close(ex.sequence_logprob(logits.clone(), targets.clone()), expected,
                 "sequence_logprob is the sum over t of log softmax(logits)[t, targets[t]]")


def test_sequence_logprob_adds_up_over_pieces():
    logits, targets = torch.randn(2, 10, 7), torch.randint(7, (2, 10))
    whole = ex.sequence_logprob(logits.clone(), targets.clone())
    parts = ex.sequence_logprob(logits[:, :4].clone(), targets[:, :4].clone()) + \
        ex.sequence_logprob(logits[:, 4:].clone(), targets[:, 4:].clone())
    assert_close(whole, parts, "log p(whole sequence) = log p(first part) + log p(second part)")


def test_a_very_unlikely_target_has_a_finite_logprob():
    logits = torch.tensor([[[0.0, -1e4, 3.0], [2.0, 2.0, -5e3]]])  # (1, 2, 3)
    targets = torch.tensor([[1, 2]])
    expected = -F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(-1)
    out = ex.sequence_logprob(logits.clone(), targets.clone())
    assert torch.isfinite(out).all(), "a target 10^4 nats below the best token has a finite " \
        "log-probability (log_softmax, not log(softmax), which underflows to log 0 = -inf)"
    assert_close(out, expected, "sequence_logprob of very unlikely targets is about -10^4 - 5*10^3")


def test_perplexity_matches_exp_cross_entropy():
    logits, targets = torch.randn(4, 6, 12), torch.randint(12, (4, 6))
    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(-1)
    assert_close(ex.perplexity(logits.clone(), targets.clone()), ce.exp(),
                 "perplexity is exp(mean cross-entropy per token) of each sequence")


def test_perplexity_of_uniform_is_v_and_of_certain_is_one():
    targets = torch.randint(16, (2, 5))
    assert_close(ex.perplexity(torch.zeros(2, 5, 16), targets.clone()), torch.full((2,), 16.0),
                 "a uniform model over V = 16 tokens has perplexity 16")
    certain = F.one_hot(targets, 16).float() * 1e4
    assert_close(ex.perplexity(certain.clone(), targets.clone()), torch.ones(2),
                 "a model certain of every target has perplexity 1")


def test_results_keep_the_logits_dtype():
    logits = torch.randn(3, 5, 9, dtype=torch.float64) * 2
    targets = torch.randint(9, (3, 5))
    expected_h = Categorical(logits=logits).entropy()
    expected_lp = -F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(-1)
    h = ex.token_entropy(logits.clone())
    assert h.dtype == torch.float64, f"float64 logits give a float64 entropy (got {h.dtype})"
    assert_close(h, expected_h, "token_entropy in float64")
    lp = ex.sequence_logprob(logits.clone(), targets.clone())
    assert lp.dtype == torch.float64, f"float64 logits give a float64 log-probability (got {lp.dtype})"
    assert_close(lp, expected_lp, "sequence_logprob in float64")
    ppl = ex.perplexity(logits.clone(), targets.clone())
    assert ppl.dtype == torch.float64, f"float64 logits give a float64 perplexity (got {ppl.dtype})"


def test_inputs_are_not_changed():
    logits = torch.randn(2, 4, 6) * 3
    logits[0, 0, 2] = float("-inf")
    targets = torch.randint(6, (2, 4))
    counts = torch.tensor([1, 3])
    originals = [t.clone() for t in (logits, targets, counts)]
    ex.token_entropy(logits)
    ex.sequence_logprob(logits, targets)
    ex.perplexity(logits, targets)
    ex.compare_rare_frequent(logits[:, 0], targets[:, 0], counts)
    ex.good_turing_unseen(counts)
    for name, now, before in zip(["logits", "targets", "counts"], [logits, targets, counts],
                                 originals, strict=True):
        assert_equal(now, before, f"the functions leave their input {name} unchanged")


# ---- rare versus frequent facts ----------------------------------------------------------------

def test_compare_rare_frequent_on_a_small_example():
    logits = torch.tensor([[5.0, 0.0, 0.0],   # rare, right, sharp
                           [0.0, 0.0, 0.0],   # rare, argmax 0, answer 2: wrong, uniform
                           [0.0, 5.0, 0.0],   # frequent, right
                           [0.0, 5.0, 0.0]])  # frequent, wrong
    answers = torch.tensor([0, 2, 1, 2])
    counts = torch.tensor([1, 1, 4, 9])
    out = ex.compare_rare_frequent(logits.clone(), answers.clone(), counts.clone())
    h = Categorical(logits=logits).entropy()
    expected = {"rare_accuracy": 0.5, "frequent_accuracy": 0.5,
                "rare_entropy": h[:2].mean().item(), "frequent_entropy": h[2:].mean().item()}
    assert set(out) == set(expected), f"compare_rare_frequent returns the keys {sorted(expected)}"
    for key, value in expected.items():
        assert_close(float(out[key]), value, f"{key} on a four-fact example (rare means counts <= 1)",
                     rtol=1e-5, atol=1e-6)
    out = ex.compare_rare_frequent(logits.clone(), answers.clone(), counts.clone(), rare_max=4)
    assert_close(float(out["frequent_accuracy"]), 0.0, "with rare_max=4 only the fact seen 9 times "
                 "is frequent, and it is answered wrongly")


def test_good_turing_divides_by_observations_not_by_facts():
    counts = torch.tensor([1, 1, 3, 5, 1, 9])  # 3 facts seen once, 20 observations, 6 facts
    assert_close(float(ex.good_turing_unseen(counts.clone())), 3 / 20,
                 "Good-Turing: facts seen exactly once / number of observations (3 / 20, not 3 / 6)")
    assert_close(float(ex.good_turing_unseen(torch.tensor([2, 7, 4]))), 0.0,
                 "no fact seen exactly once: the estimate of the unseen mass is 0")
    assert_close(float(ex.good_turing_unseen(torch.ones(8, dtype=torch.long))), 1.0,
                 "every fact seen once: every next fact is probably new (estimate 1)")


def test_facts_seen_once_are_less_certain_in_the_world():
    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()  # trains a small transformer once per run (about a second)
    logits = hw.answer_logits(model, world)
    answers = world.city_tokens[world.city]
    out = ex.compare_rare_frequent(logits.clone(), answers.clone(), world.count.clone())
    assert out["rare_accuracy"] < out["frequent_accuracy"] - 0.1, \
        f"facts seen once are answered less accurately than the others ({out})"
    assert out["rare_entropy"] > out["frequent_entropy"] + 0.1, \
        f"the model's entropy is higher on facts seen once than on the others ({out})"
    assert_close(float(ex.good_turing_unseen(world.count.clone())), 100 / 595,
                 "in the world, 100 of the 595 training sentences are about facts seen once")
