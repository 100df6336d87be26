"""Checks for scheduled-sampling.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import math

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("scheduled-sampling")
hw = retreat.load_support("hallucination_world")


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def gold_and_predicted(shape, V=50, seed=0):
    g = seeded(seed)
    gold = torch.randint(V, shape, generator=g)
    predicted = (gold + 1 + torch.randint(V - 1, shape, generator=g)) % V  # never equal to gold
    return gold, predicted


# ---- mix_tokens --------------------------------------------------------------------------------

def test_epsilon_one_gives_gold_and_zero_gives_predicted():
    gold, predicted = gold_and_predicted((4, 30))
    assert_equal(ex.mix_tokens(gold.clone(), predicted.clone(), 1.0, seeded(1)), gold,
                 "epsilon = 1 is teacher forcing: every input is the gold token")
    assert_equal(ex.mix_tokens(gold.clone(), predicted.clone(), 0.0, seeded(1)), predicted,
                 "epsilon = 0 is free-running: every input is the model's prediction")


def test_empirical_rate_of_gold_is_epsilon():
    gold, predicted = gold_and_predicted((200, 250))
    n = gold.numel()
    for epsilon in [0.1, 0.5, 0.85]:
        mixed = ex.mix_tokens(gold.clone(), predicted.clone(), epsilon, seeded(2))
        assert ((mixed == gold) | (mixed == predicted)).all(), \
            "every mixed token is the gold token or the predicted one, at its own position"
        rate = (mixed == gold).double().mean().item()
        sigma = math.sqrt(epsilon * (1 - epsilon) / n)
        assert abs(rate - epsilon) <= 4 * sigma, \
            f"the fraction of gold tokens is epsilon = {epsilon} (got {rate:.4f})"


def test_mixing_is_seeded_and_independent_per_position():
    gold, predicted = gold_and_predicted((8, 64))
    a = ex.mix_tokens(gold.clone(), predicted.clone(), 0.5, seeded(3))
    assert_equal(a, ex.mix_tokens(gold.clone(), predicted.clone(), 0.5, seeded(3)),
                 "the same generator seed gives the same mix")
    assert not torch.equal(a, ex.mix_tokens(gold.clone(), predicted.clone(), 0.5, seeded(4))), \
        "a different seed gives a different mix"
    from_gold = a == gold
    assert not (from_gold == from_gold[:1]).all(), \
        "each position is drawn on its own (rows do not share one choice)"


# ---- scheduled_inputs --------------------------------------------------------------------------

def test_greedy_inputs_use_the_previous_positions_argmax():
    B, T, V = 3, 7, 11
    logits = torch.randn(B, T, V)
    gold = torch.randint(V, (B, T))
    tf = ex.scheduled_inputs(logits.clone(), gold.clone(), 1.0, seeded(5))
    assert tf.shape == (B, T) and tf.dtype == torch.long, "scheduled_inputs returns (B, T) long"
    assert_equal(tf, gold, "epsilon = 1 gives the gold inputs")
    free = ex.scheduled_inputs(logits.clone(), gold.clone(), 0.0, seeded(5), greedy=True)
    assert_equal(free[:, 0], gold[:, 0], "position 0 (the prompt) is always gold")
    assert_equal(free[:, 1:], logits[:, :-1].argmax(-1), "greedy, with epsilon = 0, input t is "
                 "the model's best guess for it: argmax of logits[:, t - 1]")


def test_sampled_guesses_follow_the_previous_positions_distribution():
    n, V = 6000, 4
    dist = torch.tensor([[0.7, 0.1, 0.1, 0.1],    # logits[:, 0]: the guess for position 1
                         [0.1, 0.1, 0.1, 0.7],    # logits[:, 1]: the guess for position 2
                         [0.1, 0.7, 0.1, 0.1]])   # logits[:, 2]: predicts past the end, unused
    logits = dist.log().expand(n, 3, V)
    gold = torch.full((n, 3), 2)
    out = ex.scheduled_inputs(logits.clone(), gold.clone(), 0.0, seeded(6))
    assert_equal(out[:, 0], gold[:, 0], "position 0 (the prompt) is always gold")
    for t in (1, 2):
        freq = torch.bincount(out[:, t], minlength=V).double() / n
        sigma = (dist[t - 1] * (1 - dist[t - 1]) / n).double().sqrt()
        assert ((freq - dist[t - 1]).abs() <= 4.5 * sigma).all(), \
            f"the guess at position {t} is a sample from softmax(logits[:, {t - 1}]) (expected " \
            f"frequencies {dist[t - 1].tolist()}, got {[round(f, 3) for f in freq.tolist()]})"
    again = ex.scheduled_inputs(logits.clone(), gold.clone(), 0.0, seeded(6))
    assert_equal(again, out, "the same generator seed gives the same sampled guesses")
    assert not torch.equal(ex.scheduled_inputs(logits.clone(), gold.clone(), 0.0, seeded(7)), out), \
        "a different seed gives different sampled guesses"


def test_inputs_are_not_changed():
    gold, predicted = gold_and_predicted((4, 9))
    logits = torch.randn(4, 9, 50)
    copies = [t.clone() for t in (gold, predicted, logits)]
    ex.mix_tokens(gold, predicted, 0.5, seeded(8))
    ex.scheduled_inputs(logits, gold, 0.5, seeded(8))
    for name, now, before in zip(["gold", "predicted", "logits"], [gold, predicted, logits], copies,
                                 strict=True):
        assert_equal(now, before, f"the functions leave {name} unchanged")


def test_training_on_mixed_inputs_shrinks_the_exposure_bias_gap():
    for seed in (0, 1):  # two memorised answers, two training runs each
        gold = hw.memorised_answer(length=16, vocab_size=16, seed=seed)
        tf_tf, tf_fr = hw.reciter_errors(hw.train_reciter(gold, 16, steps=100, batch=32, seed=seed), gold)
        W = hw.train_reciter(gold, 16, steps=100, batch=32, seed=seed, inputs_fn=ex.scheduled_inputs,
                             schedule=lambda step: ex.inverse_sigmoid(step, k=20.0))
        ss_tf, ss_fr = hw.reciter_errors(W, gold)
        gap_tf, gap_ss = (tf_fr - tf_tf).mean().item(), (ss_fr - ss_tf).mean().item()
        assert gap_tf > 0.2, f"teacher forcing leaves a large exposure-bias gap ({gap_tf:.3f})"
        assert gap_ss < gap_tf / 2, "trained on scheduled_inputs (sampled guesses, inverse-sigmoid " \
            f"schedule), the free-running error gets much closer to the teacher-forced one " \
            f"(mean gap {gap_ss:.3f} against {gap_tf:.3f} with teacher forcing)"
        assert (ss_tf < 0.12).all(), "scheduled sampling keeps the model about 90% right on gold " \
            f"prefixes ({ss_tf.max():.3f})"


# ---- schedules ---------------------------------------------------------------------------------

STEPS = [0, 1, 10, 100, 500, 1000, 5000, 20000, 10**6]


def test_schedules_start_at_their_formula():
    assert_close(ex.linear(0), 1.0, "linear(0) = k = 1")
    assert_close(ex.linear(300, k=0.9, c=0.002), 0.3, "linear(i) = k - c i")
    assert_close(ex.linear(10_000, eps_min=0.1), 0.1, "linear never goes below eps_min")
    assert_close(ex.exponential(0), 1.0, "exponential(0) = 1")
    assert_close(ex.exponential(20, k=0.9), 0.9**20, "exponential(i) = k ** i")
    assert_close(ex.inverse_sigmoid(0, k=10.0), 10 / 11, "inverse_sigmoid(0) = k / (k + 1)")
    assert_close(ex.inverse_sigmoid(50, k=10.0), 10 / (10 + math.exp(5)),
                 "inverse_sigmoid(i) = k / (k + exp(i / k))")


def test_schedules_never_increase_and_stay_in_zero_one():
    for name, schedule in [("linear", ex.linear), ("exponential", ex.exponential),
                           ("inverse_sigmoid", ex.inverse_sigmoid)]:
        values = [float(schedule(step)) for step in STEPS]
        assert all(0.0 <= v <= 1.0 for v in values), \
            f"{name} stays in [0, 1] for steps up to a million (got {values})"
        assert all(b <= a for a, b in zip(values, values[1:], strict=False)), \
            f"{name} never increases with the step (got {values})"
        assert values[-1] < 0.01, f"{name} ends near 0: training ends almost free-running"
