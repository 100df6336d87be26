"""Checks for exposure-bias."""

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
    assert_close(ex.teacher_forced_error(Q, gold), torch.tensor([0.9, 0.2, 0.5], dtype=torch.float64),
                 "teacher-forced error at t is 1 - Q[gold[t], gold[t + 1]] (row = current token)")


def test_free_running_error_matches_a_sum_over_all_paths():
    for seed, V, T in [(0, 3, 5), (1, 4, 4)]:
        Q = random_chain(V, seed)
        gold = torch.randint(V, (T + 1,), generator=torch.Generator().manual_seed(seed))
        assert_close(ex.free_running_error(Q, gold), brute_force_free_running(Q, gold),
                     f"free-running error equals the brute-force sum over all {V}^{T} paths")


def test_first_step_errors_agree():
    Q = random_chain(6, 2)
    gold = torch.tensor([3, 1, 4, 1, 5])
    assert_close(ex.free_running_error(Q, gold)[0], ex.teacher_forced_error(Q, gold)[0],
                 "at the first step both runs see the same prefix, so their errors are equal")


def test_free_running_error_never_exceeds_the_chance_of_some_earlier_mistake():
    Q = random_chain(5, 3)
    gold = torch.randint(5, (13,), generator=torch.Generator().manual_seed(3))
    tf = ex.teacher_forced_error(Q, gold)
    fr = ex.free_running_error(Q, gold)
    bound = 1 - torch.cumprod(1 - tf, dim=0)
    assert (fr <= bound + 1e-12).all(), "free-running error at t <= P(at least one mistake in the " \
        "first t + 1 steps) = 1 - prod(1 - teacher-forced error): a rollout that never " \
        "slipped is still on the gold path"


def test_free_running_error_grows_with_t_and_teacher_forced_does_not():
    successor, Q = hw.cycle_chain(n_states=16, error=0.05)
    gold = hw.gold_sequence(successor, 0, 40)
    tf = ex.teacher_forced_error(Q, gold)
    fr = ex.free_running_error(Q, gold)
    assert tf.shape == fr.shape == (40,), "both errors have one entry per predicted token: (T,)"
    assert_close(tf, torch.full((40,), 0.05, dtype=torch.float64),
                 "with the gold prefix the model errs 5% of the time at every step")
    assert (fr[1:] >= fr[:-1]).all(), "the free-running error never decreases along the sequence"
    assert fr[-1] > 0.8, f"after 40 free-running steps most rollouts are off the gold path ({fr[-1]:.3f})"


def test_rollouts_are_seeded_and_start_at_start():
    Q = random_chain(5, 4)
    a = ex.sample_free_running(Q, 2, 6, 100, generator=torch.Generator().manual_seed(5))
    b = ex.sample_free_running(Q, 2, 6, 100, generator=torch.Generator().manual_seed(5))
    assert a.shape == (100, 7) and a.dtype == torch.long, "sample_free_running returns (n, steps + 1) long"
    assert_equal(a, b, "the same generator seed gives the same rollouts")
    assert (a[:, 0] == 2).all(), "every rollout starts at `start`"


def test_monte_carlo_agrees_with_the_formula_within_3_sigma():
    successor, Q = hw.cycle_chain(n_states=8, error=0.1)
    gold = hw.gold_sequence(successor, 0, 30)
    n = 4000
    mc, stderr = ex.monte_carlo_error(Q, gold, n, generator=torch.Generator().manual_seed(6))
    exact = ex.free_running_error(Q, gold)
    sigma = (exact * (1 - exact) / n).sqrt()
    assert_close(stderr, (mc * (1 - mc) / n).sqrt(), "stderr is sqrt(error (1 - error) / n)")
    for t in [9, 29]:
        assert abs(mc[t] - exact[t]) <= 3 * sigma[t], \
            f"Monte Carlo error at t={t} ({mc[t]:.4f}) is within 3 sigma of the formula ({exact[t]:.4f})"
    assert ((mc - exact).abs() <= 4.5 * sigma).all(), \
        "Monte Carlo agrees with the formula at every step (within 4.5 sigma)"
