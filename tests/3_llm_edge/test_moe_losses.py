"""Checks for moe-losses: the load-balancing loss and the router z-loss. The learner's code always gets
clones of the inputs; the expected values are computed from the untouched originals."""

import math

import torch

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("moe-losses")


def test_uniform_router_gives_top_k():
    for n_experts, top_k in [(4, 1), (8, 2), (6, 3)]:
        logits = torch.zeros(5, 7, n_experts)
        loss = ex.load_balancing_loss(logits.clone(), n_experts, top_k)
        assert_close(loss, torch.tensor(float(top_k)),
                     f"a uniform router gives a load-balancing loss of top_k (E={n_experts}, k={top_k})")


def test_load_balancing_matches_closed_form():
    # 3 tokens prefer expert 0, 1 token prefers expert 1, each with probability p = sigmoid(a).
    a = 1.5
    logits = torch.tensor([[a, 0.0], [a, 0.0], [a, 0.0], [0.0, a]])
    p = torch.sigmoid(torch.tensor(a))
    f = torch.tensor([0.75, 0.25])
    P = torch.stack([(3 * p + (1 - p)) / 4, (3 * (1 - p) + p) / 4])
    assert_close(ex.load_balancing_loss(logits.clone(), 2, 1), 2 * (f * P).sum(),
                 "load-balancing loss equals E * sum_e f_e * P_e on a hand-worked example")


def test_load_balancing_counts_every_top_k_choice():
    # Every token's top-2 is {0, 1} out of 4 experts: f = (1, 1, 0, 0).
    logits = torch.tensor([[3.0, 2.0, 0.0, -1.0], [2.0, 3.0, -1.0, 0.0]])
    probs = logits.softmax(-1)
    P = probs.mean(0)
    expected = 4 * (P[0] + P[1])
    assert_close(ex.load_balancing_loss(logits.clone(), 4, 2), expected,
                 "f_e counts every expert in a token's top-k, not only its first choice")


def test_collapsed_router_approaches_n_experts():
    logits = torch.zeros(16, 8)
    logits[:, 3] = 30.0
    loss = ex.load_balancing_loss(logits.clone(), 8, 1)
    assert_close(loss, torch.tensor(8.0), "a router that sends every token to one expert scores E",
                 atol=1e-4, rtol=0)


def test_balanced_router_scores_lower_than_skewed():
    g = torch.Generator().manual_seed(1)
    balanced = torch.randn(64, 4, generator=g) * 0.1
    skewed = balanced.clone()
    skewed[:, 0] += 2.0
    assert ex.load_balancing_loss(balanced.clone(), 4, 1) < ex.load_balancing_loss(skewed.clone(), 4, 1), \
        "a router that favours one expert must score a higher load-balancing loss"


def test_load_balancing_ignores_expert_and_token_order():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 6, 5, generator=g)
    loss = ex.load_balancing_loss(logits.clone(), 5, 2)
    perm_e = torch.randperm(5, generator=g)
    perm_t = torch.randperm(12, generator=g)
    assert_close(ex.load_balancing_loss(logits[..., perm_e].clone(), 5, 2), loss,
                 "renaming the experts leaves the load-balancing loss unchanged")
    assert_close(ex.load_balancing_loss(logits.reshape(12, 5)[perm_t].clone(), 5, 2), loss,
                 "the loss treats every leading dimension as tokens and ignores their order")


def test_load_balancing_gradient_flows_through_probabilities():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(10, 4, generator=g, requires_grad=True)
    ex.load_balancing_loss(logits.clone(), 4, 2).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0, \
        "the load-balancing loss must pass a gradient to the router logits (through P)"


def test_z_loss_matches_logsumexp_squared():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 5, 8, generator=g) * 3
    expected = torch.logsumexp(logits, dim=-1).pow(2).mean()
    assert_close(ex.router_z_loss(logits.clone()), expected, "z-loss is the mean of logsumexp(logits)^2")


def test_z_loss_of_zero_logits_is_log_e_squared():
    assert_close(ex.router_z_loss(torch.zeros(7, 8)), torch.tensor(math.log(8) ** 2),
                 "zero logits over E experts give a z-loss of (log E)^2")


def test_z_loss_is_finite_for_huge_logits():
    logits = torch.tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    z = ex.router_z_loss(logits.clone())
    assert torch.isfinite(z), "z-loss stays finite for logits of 1e4 (use a stable logsumexp)"
    assert_close(z, torch.tensor(((1e4) ** 2 + (1e4 + math.log(2)) ** 2) / 2), "z-loss for logits of 1e4")
