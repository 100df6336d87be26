"""Checks for contrastive-decoding."""

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("contrastive-decoding")

NEG_INF = float("-inf")


def test_closed_form_on_a_small_vocabulary():
    expert = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    amateur = torch.log(torch.tensor([0.6, 0.1, 0.2, 0.1]))
    # alpha = 0.2: plausible means p_expert >= 0.2 * 0.5 = 0.1, so tokens 0, 1, 2.
    expected = torch.tensor([
        torch.log(torch.tensor(0.5 / 0.6)), torch.log(torch.tensor(0.3 / 0.1)),
        torch.log(torch.tensor(0.15 / 0.2)), NEG_INF,
    ])
    assert_close(ex.contrastive_scores(expert, amateur, alpha=0.2), expected,
                 "score = log p_expert - log p_amateur on the plausible head, -inf elsewhere")


def test_plausible_head_is_relative_to_the_top_probability():
    expert = torch.tensor([3.0, 1.0, -1.0, 2.5])
    amateur = torch.zeros(4)
    p = expert.softmax(-1)
    for alpha in (0.05, 0.1, 0.5, 0.9):
        scores = ex.contrastive_scores(expert, amateur, alpha=alpha)
        assert_equal(torch.isfinite(scores), p >= alpha * p.max(),
                     f"alpha={alpha}: finite exactly where p_expert >= alpha * max p_expert")


def test_tokens_outside_the_plausible_head_never_win():
    g = torch.Generator().manual_seed(1)
    expert = torch.randn(64, 50, generator=g) * 3
    amateur = torch.randn(64, 50, generator=g) * 3
    p = expert.softmax(-1)
    implausible = p < 0.1 * p.amax(-1, keepdim=True)
    amateur = amateur.masked_fill(implausible, -30.0)  # the amateur finds them absurd: huge ratios
    scores = ex.contrastive_scores(expert, amateur, alpha=0.1)
    assert (scores[implausible] == NEG_INF).all(), "every implausible token scores -inf"
    winners = scores.argmax(-1)
    assert (~implausible.gather(-1, winners[:, None])).all(), \
        "the winning token is always in the expert's plausible head"


def test_identical_models_score_zero_on_the_head():
    logits = torch.randn(3, 20) * 2
    scores = ex.contrastive_scores(logits, logits.clone(), alpha=0.1)
    head = torch.isfinite(scores)
    assert head.any(dim=-1).all(), "the expert's top token is always plausible"
    assert_close(scores[head], torch.zeros(int(head.sum())),
                 "when expert and amateur agree, every plausible token scores 0")


def test_alpha_one_keeps_only_the_experts_top_token():
    expert = torch.randn(8, 30) * 2
    amateur = torch.randn(8, 30) * 2
    scores = ex.contrastive_scores(expert, amateur, alpha=1.0)
    assert_equal(torch.isfinite(scores).sum(-1), torch.ones(8, dtype=torch.long),
                 "alpha=1 keeps exactly one token per row")
    assert_equal(scores.argmax(-1), expert.argmax(-1), "alpha=1 is greedy decoding of the expert")


def test_scores_ignore_a_constant_added_to_either_logits():
    expert = torch.randn(4, 25) * 2
    amateur = torch.randn(4, 25) * 2
    base = ex.contrastive_scores(expert, amateur, alpha=0.1)
    shift = torch.randn(4, 1) * 10
    assert_close(ex.contrastive_scores(expert + shift, amateur, alpha=0.1), base,
                 "adding a constant to the expert's logits changes nothing (use log-probabilities)")
    assert_close(ex.contrastive_scores(expert, amateur - shift, alpha=0.1), base,
                 "adding a constant to the amateur's logits changes nothing (use log-probabilities)")


def test_batched_and_sequence_inputs():
    expert = torch.randn(2, 5, 40)
    amateur = torch.randn(2, 5, 40)
    scores = ex.contrastive_scores(expert, amateur, alpha=0.1)
    assert scores.shape == (2, 5, 40), "scores keep the (B, T, V) shape of the logits"
    for b in range(2):
        for t in range(5):
            assert_close(scores[b, t], ex.contrastive_scores(expert[b, t], amateur[b, t], alpha=0.1),
                         "each position is scored on its own, over the last axis")
