"""Checks for exposure-bias.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import itertools

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("exposure-bias")
hw = retreat.load_support("hallucination_world")


def random_chain(V, seed):
    g = torch.Generator().manual_seed(seed)
    Q = torch.rand(V, V, generator=g, dtype=torch.float64) ** 3  # lopsided rows
    return Q / Q.sum(-1, keepdim=True)


def brute_force_free_running(Q, gold):
    """P(x[t+1] != gold[t+1]) by summing the probability of every path from gold[0]."""
    V, T = Q.shape[0], len(gold) - 1
    err = torch.zeros(T, dtype=torch.float64)
    for path in itertools.product(range(V), repeat=T):
        p, prev = 1.0, int(gold[0])
        for x in path:
            p *= float(Q[prev, x])
            prev = x
        for t, x in enumerate(path):
            if x != int(gold[t + 1]):
                err[t] += p
    return err


def test_teacher_forced_error_on_a_small_chain():
    Q = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8], [0.5, 0.25, 0.25]], dtype=torch.float64)
    gold = torch.tensor([0, 1, 2, 0])
    assert_close(ex.teacher_forced_error(Q.clone(), gold.clone()), torch.tensor([0.9, 0.2, 0.5], dtype=torch.float64),
                 "teacher-forced error at t is 1 - Q[gold[t], gold[t + 1]] (row = current token)")


def test_free_running_error_matches_a_sum_over_all_paths():
    for seed, V, T in [(0, 3, 5), (1, 4, 4)]:
        Q = random_chain(V, seed)
        gold = torch.randint(V, (T + 1,), generator=torch.Generator().manual_seed(seed))
        assert_close(ex.free_running_error(Q.clone(), gold.clone()), brute_force_free_running(Q, gold),
                     f"free-running error equals the brute-force sum over all {V}^{T} paths")


def test_first_step_errors_agree():
    Q = random_chain(6, 2)
    gold = torch.tensor([3, 1, 4, 1, 5])
    assert_close(ex.free_running_error(Q.clone(), gold.clone())[0], 1 - Q[gold[0], gold[1]],
                 "at the first step both runs see the same prefix, so their errors are equal")


def test_free_running_error_never_exceeds_the_chance_of_some_earlier_mistake():
    Q = random_chain(5, 3)
    gold = torch.randint(5, (13,), generator=torch.Generator().manual_seed(3))
    tf = 1 - Q[gold[:-1], gold[1:]]
    fr = ex.free_running_error(Q.clone(), gold.clone())
    bound = 1 - torch.cumprod(1 - tf, dim=0)
    assert (fr <= bound + 1e-12).all(), "free-running error at t <= P(at least one mistake in the " \
        "first t + 1 steps) = 1 - prod(1 - teacher-forced error): a rollout that never " \
        "slipped is still on the gold path"


def test_a_model_trained_with_teacher_forcing_is_lost_off_the_gold_path():
    gold = hw.memorised_answer(length=24, vocab_size=16)
    W = hw.train_reciter(gold, 16)  # teacher forcing: only the gold rows are trained
    Q, states = hw.reciter_chain(W), hw.reciter_states(gold, 16)
    tf = ex.teacher_forced_error(Q.clone(), states.clone())
    fr = ex.free_running_error(Q.clone(), states.clone())
    assert tf.shape == fr.shape == (24,), "both errors have one entry per predicted token: (T,)"
    assert_close(tf, 1 - Q[states[:-1], states[1:]], "teacher-forced error of the trained model")
    assert (tf < 0.12).all(), f"on gold prefixes the model errs about 10% of the time ({tf.max():.3f})"
    assert (fr[1:] >= fr[:-1] - 1e-12).all(), "the free-running error never decreases along the answer"
    assert fr[-1] > 0.5, "free-running, most rollouts are off the gold path by the end: after a " \
        f"slip the model stands on rows it never trained ({fr[-1]:.3f})"


def test_monte_carlo_counts_rollouts_that_rejoin_the_gold_path():
    gold = hw.memorised_answer(length=12, vocab_size=4, seed=3)
    W = hw.train_reciter(gold, 4, steps=100)
    Q, states = hw.reciter_chain(W), hw.reciter_states(gold, 4)
    n = 4000  # off the gold path the model is uniform over 4 tokens: it comes back 1 time in 4
    mc, stderr = ex.monte_carlo_error(Q.clone(), states.clone(), n,
                                      generator=torch.Generator().manual_seed(8))
    exact = ex.free_running_error(Q.clone(), states.clone())
    sigma = (exact * (1 - exact) / n).sqrt()
    assert ((mc - exact).abs() <= 4.5 * sigma).all(), "Monte Carlo agrees with the formula on a " \
        f"model that can slip back onto the gold path (got {mc[-1]:.3f}, formula {exact[-1]:.3f}): " \
        "a rollout is wrong at t + 1 only if its state there differs from gold[t + 1]"


def test_inputs_are_not_changed():
    Q = random_chain(4, 9)
    gold = torch.tensor([0, 2, 1, 3, 3])
    Q_copy, gold_copy = Q.clone(), gold.clone()
    ex.teacher_forced_error(Q, gold)
    ex.free_running_error(Q, gold)
    ex.monte_carlo_error(Q, gold, 50, generator=torch.Generator().manual_seed(1))
    assert_equal(Q, Q_copy, "the transition matrix is left unchanged")
    assert_equal(gold, gold_copy, "the gold path is left unchanged")


def test_rollouts_are_seeded_and_start_at_start():
    Q = random_chain(5, 4)
    a = ex.sample_free_running(Q.clone(), 2, 6, 100, generator=torch.Generator().manual_seed(5))
    b = ex.sample_free_running(Q.clone(), 2, 6, 100, generator=torch.Generator().manual_seed(5))
    assert a.shape == (100, 7) and a.dtype == torch.long, "sample_free_running returns (n, steps + 1) long"
    assert_equal(a, b, "the same generator seed gives the same rollouts")
    assert (a[:, 0] == 2).all(), "every rollout starts at `start`"


def test_monte_carlo_agrees_with_the_formula_within_3_sigma():
    successor, Q = hw.cycle_chain(n_states=8, error=0.1)
    gold = hw.gold_sequence(successor, 0, 30)
    n = 4000
    mc, stderr = ex.monte_carlo_error(Q.clone(), gold.clone(), n, generator=torch.Generator().manual_seed(6))
    exact = ex.free_running_error(Q.clone(), gold.clone())
    sigma = (exact * (1 - exact) / n).sqrt()
    assert_close(stderr, (mc * (1 - mc) / n).sqrt(), "stderr is sqrt(error (1 - error) / n)")
    for t in [9, 29]:
        assert abs(mc[t] - exact[t]) <= 3 * sigma[t], \
            f"Monte Carlo error at t={t} ({mc[t]:.4f}) is within 3 sigma of the formula ({exact[t]:.4f})"
    assert ((mc - exact).abs() <= 4.5 * sigma).all(), \
        "Monte Carlo agrees with the formula at every step (within 4.5 sigma)"
