"""Maintainers' oracle: the nucleus-sampling reference against HuggingFace's logits processors.

top_p_filter, min_p_filter and repetition_penalty must agree with TopPLogitsWarper,
MinPLogitsWarper and RepetitionPenaltyLogitsProcessor on random batched logits.
"""

import pytest
import torch

import retreat
from retreat.testing import assert_equal

pytest.importorskip("transformers")
from transformers.generation.logits_process import (  # noqa: E402
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TopPLogitsWarper,
)

sol = retreat.load_solution("nucleus-sampling")


@pytest.mark.parametrize("top_p", [0.05, 0.3, 0.8, 0.95])
@pytest.mark.parametrize("min_keep", [1, 4])
def test_top_p_matches_hf(top_p, min_keep):
    logits = torch.randn(16, 300) * 2.5
    ids = torch.randint(300, (16, 5))
    expected = TopPLogitsWarper(top_p, min_tokens_to_keep=min_keep)(ids, logits.clone())
    assert_equal(sol.top_p_filter(logits, top_p, min_tokens_to_keep=min_keep), expected,
                 f"top_p_filter(top_p={top_p}, min_tokens_to_keep={min_keep}) equals TopPLogitsWarper")


@pytest.mark.parametrize("min_p", [0.0, 0.02, 0.1, 0.5])
@pytest.mark.parametrize("min_keep", [1, 4])
def test_min_p_matches_hf(min_p, min_keep):
    logits = torch.randn(16, 300) * 2.5
    ids = torch.randint(300, (16, 5))
    expected = MinPLogitsWarper(min_p, min_tokens_to_keep=min_keep)(ids, logits.clone())
    assert_equal(sol.min_p_filter(logits, min_p, min_tokens_to_keep=min_keep), expected,
                 f"min_p_filter(min_p={min_p}, min_tokens_to_keep={min_keep}) equals MinPLogitsWarper")


@pytest.mark.parametrize("penalty", [0.8, 1.0, 1.3, 2.0])
def test_repetition_penalty_matches_hf(penalty):
    logits = torch.randn(8, 100) * 3
    ids = torch.randint(100, (8, 30))  # with repeats
    expected = RepetitionPenaltyLogitsProcessor(penalty)(ids, logits.clone())
    assert_equal(sol.repetition_penalty(logits, ids, penalty), expected,
                 f"repetition_penalty(penalty={penalty}) equals RepetitionPenaltyLogitsProcessor")
