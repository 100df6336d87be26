"""Checks for contrastive-decoding.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import math

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
    assert_close(ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.2), expected,
                 "score = log p_expert - log p_amateur on the plausible head, -inf elsewhere")


def test_plausible_head_is_relative_to_the_top_probability():
    expert = torch.tensor([3.0, 1.0, -1.0, 2.5])
    amateur = torch.zeros(4)
    p = expert.softmax(-1)
    for alpha in (0.05, 0.1, 0.5, 0.9):
        scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=alpha)
        assert_equal(torch.isfinite(scores), p >= alpha * p.max(),
                     f"alpha={alpha}: finite exactly where p_expert >= alpha * max p_expert")


def test_tokens_outside_the_plausible_head_never_win():
    g = torch.Generator().manual_seed(1)
    expert = torch.randn(64, 50, generator=g) * 3
    amateur = torch.randn(64, 50, generator=g) * 3
    p = expert.softmax(-1)
    implausible = p < 0.1 * p.amax(-1, keepdim=True)
    amateur = amateur.masked_fill(implausible, -30.0)  # the amateur finds them absurd: huge ratios
    scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.1)
    assert (scores[implausible] == NEG_INF).all(), "every implausible token scores -inf"
    winners = scores.argmax(-1)
    assert (~implausible.gather(-1, winners[:, None])).all(), \
        "the winning token is always in the expert's plausible head"


def test_identical_models_score_zero_on_the_head():
    logits = torch.randn(3, 20) * 2
    scores = ex.contrastive_scores(logits.clone(), logits.clone(), alpha=0.1)
    head = torch.isfinite(scores)
    assert head.any(dim=-1).all(), "the expert's top token is always plausible"
    assert_close(scores[head], torch.zeros(int(head.sum())),
                 "when expert and amateur agree, every plausible token scores 0")


def test_alpha_one_keeps_only_the_experts_top_token():
    expert = torch.randn(8, 30) * 2
    amateur = torch.randn(8, 30) * 2
    scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=1.0)
    assert_equal(torch.isfinite(scores).sum(-1), torch.ones(8, dtype=torch.long),
                 "alpha=1 keeps exactly one token per row")
    assert_equal(scores.argmax(-1), expert.argmax(-1), "alpha=1 is greedy decoding of the expert")


def test_scores_ignore_a_constant_added_to_either_logits():
    expert = torch.randn(4, 25) * 2
    amateur = torch.randn(4, 25) * 2
    base = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.1)
    shift = torch.randn(4, 1) * 10
    assert_close(ex.contrastive_scores(expert + shift, amateur.clone(), alpha=0.1), base,
                 "adding a constant to the expert's logits changes nothing (use log-probabilities)")
    assert_close(ex.contrastive_scores(expert.clone(), amateur - shift, alpha=0.1), base,
                 "adding a constant to the amateur's logits changes nothing (use log-probabilities)")


def test_batched_and_sequence_inputs():
    expert = torch.randn(2, 5, 40)
    amateur = torch.randn(2, 5, 40)
    scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.1)
    assert scores.shape == (2, 5, 40), "scores keep the (B, T, V) shape of the logits"
    for b in range(2):
        for t in range(5):
            assert_close(scores[b, t], ex.contrastive_scores(expert[b, t].clone(), amateur[b, t].clone(), alpha=0.1),
                         "each position is scored on its own, over the last axis")


def test_a_token_exactly_at_alpha_times_the_top_probability_is_plausible():
    for dtype in (torch.float32, torch.float64):
        # probabilities 0.125, 0.5, 0.25, 0.125 exactly: logits are multiples of log 2
        expert = torch.tensor([0.0, 2.0, 1.0, 0.0], dtype=dtype) * math.log(2)
        amateur = torch.zeros(4, dtype=dtype)
        scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.5)
        assert_equal(torch.isfinite(scores).tolist(), [False, True, True, False],
                     f"alpha=0.5 ({dtype}): the token with exactly 0.5 * max p = 0.25 is in the "
                     "plausible head (p >= alpha * max p, not >)")


def test_float64_logits_give_float64_scores():
    expert = torch.randn(3, 9, dtype=torch.float64) * 2
    amateur = torch.randn(3, 9, dtype=torch.float64) * 2
    scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.1)
    assert scores.dtype == torch.float64, f"float64 logits give float64 scores (got {scores.dtype})"
    lp, lq = expert.log_softmax(-1), amateur.log_softmax(-1)
    expected = torch.where(lp >= lp.amax(-1, keepdim=True) + math.log(0.1), lp - lq,
                           torch.tensor(NEG_INF, dtype=torch.float64))
    assert_close(scores, expected, "float64 contrastive scores")


def test_inputs_are_not_changed():
    expert, amateur = torch.randn(2, 12) * 3, torch.randn(2, 12) * 3
    copies = expert.clone(), amateur.clone()
    ex.contrastive_scores(expert, amateur, alpha=0.2)
    assert_equal(expert, copies[0], "the expert's logits are left unchanged")
    assert_equal(amateur, copies[1], "the amateur's logits are left unchanged")


def test_on_the_worlds_transformer_and_its_early_checkpoint():
    hw = retreat.load_support("hallucination_world")
    world, expert_model = hw.pretrained()  # trains a small transformer once per run
    _, amateur_model = hw.pretrained_amateur()  # the same run after 30 of its 100 steps
    expert = hw.answer_logits(expert_model, world)  # (200, V): the birth city
    amateur = hw.answer_logits(amateur_model, world)
    scores = ex.contrastive_scores(expert.clone(), amateur.clone(), alpha=0.1)
    lp, lq = expert.log_softmax(-1), amateur.log_softmax(-1)
    head = lp >= lp.amax(-1, keepdim=True) + math.log(0.1)
    assert_equal(torch.isfinite(scores), head, "on the world's transformer, the plausible head is "
                 "the set of cities with p >= 0.1 max p under the expert")
    assert_close(scores[head], (lp - lq)[head], "on the world's transformer, the scores are "
                 "log p_expert - log p_amateur on the head")
