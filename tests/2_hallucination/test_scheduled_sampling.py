"""Checks for scheduled-sampling."""

import math

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("scheduled-sampling")


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
    assert_equal(ex.mix_tokens(gold, predicted, 1.0, seeded(1)), gold,
                 "epsilon = 1 is teacher forcing: every input is the gold token")
    assert_equal(ex.mix_tokens(gold, predicted, 0.0, seeded(1)), predicted,
                 "epsilon = 0 is free-running: every input is the model's prediction")


def test_empirical_rate_of_gold_is_epsilon():
    gold, predicted = gold_and_predicted((200, 250))
    n = gold.numel()
    for epsilon in [0.1, 0.5, 0.85]:
        mixed = ex.mix_tokens(gold, predicted, epsilon, seeded(2))
        assert ((mixed == gold) | (mixed == predicted)).all(), \
            "every mixed token is the gold token or the predicted one, at its own position"
        rate = (mixed == gold).double().mean().item()
        sigma = math.sqrt(epsilon * (1 - epsilon) / n)
        assert abs(rate - epsilon) <= 4 * sigma, \
            f"the fraction of gold tokens is epsilon = {epsilon} (got {rate:.4f})"


def test_mixing_is_seeded_and_independent_per_position():
    gold, predicted = gold_and_predicted((8, 64))
    a = ex.mix_tokens(gold, predicted, 0.5, seeded(3))
    assert_equal(a, ex.mix_tokens(gold, predicted, 0.5, seeded(3)),
                 "the same generator seed gives the same mix")
    assert not torch.equal(a, ex.mix_tokens(gold, predicted, 0.5, seeded(4))), \
        "a different seed gives a different mix"
    from_gold = a == gold
    assert not (from_gold == from_gold[:1]).all(), \
        "each position is drawn on its own (rows do not share one choice)"


# ---- scheduled_inputs --------------------------------------------------------------------------

def test_scheduled_inputs_use_the_previous_positions_prediction():
    B, T, V = 3, 7, 11
    logits = torch.randn(B, T, V)
    gold = torch.randint(V, (B, T))
    tf = ex.scheduled_inputs(logits, gold, 1.0, seeded(5))
    assert tf.shape == (B, T) and tf.dtype == torch.long, "scheduled_inputs returns (B, T) long"
    assert_equal(tf, gold, "epsilon = 1 gives the gold inputs")
    free = ex.scheduled_inputs(logits, gold, 0.0, seeded(5))
    assert_equal(free[:, 0], gold[:, 0], "position 0 (the prompt) is always gold")
    assert_equal(free[:, 1:], logits[:, :-1].argmax(-1), "with epsilon = 0, input t is the "
                 "model's guess for it: argmax of logits[:, t - 1]")


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
