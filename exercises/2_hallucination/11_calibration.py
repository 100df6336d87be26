"""Calibration and discrimination: is a confidence score worth trusting?

A hallucination detector outputs a score: the model's probability for its answer, the vote
share of self-consistency, minus the semantic entropy. Two separate questions decide whether
the score is any good:

Calibration: among the answers given with confidence 0.8, are 80% correct? Guo et al. ("On
Calibration of Modern Neural Networks", arXiv 1706.04599) measure it with the expected
calibration error. Sort the predictions into equal-width confidence bins, then take the
weighted average gap between accuracy and mean confidence:

    ECE = sum_b (|B_b| / N) * | acc(B_b) - conf(B_b) |

The Brier score, mean (p - y)^2, rewards calibration and sharpness together.

Discrimination: does the score rank correct answers above wrong ones? AUROC is the
probability that a random positive gets a higher score than a random negative, counting ties
as one half. That is the Mann-Whitney U statistic divided by n_pos * n_neg. It ignores the
scale of the score: any increasing transform leaves it unchanged, so a score can rank well
and still be badly calibrated.

No function changes its inputs. On the course's synthetic world (support/hallucination_world.py),
measure a small transformer's confidence in its birth-city answers:

    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()
    conf, guess = hw.answer_logits(model, world).softmax(-1).max(-1)
    correct = guess == world.city_tokens[world.city]
    expected_calibration_error(conf, correct), brier_score(conf, correct), auroc(conf, correct)

Your task: write expected_calibration_error, brier_score and auroc.
"""

import torch


def expected_calibration_error(confidences: torch.Tensor, correct: torch.Tensor,
                               n_bins: int = 10) -> torch.Tensor:
    """ECE with `n_bins` equal-width bins on [0, 1].

    confidences: (N,) floats in [0, 1].
    correct: (N,) bool or 0/1, whether each prediction was right.
    Bin b (b = 0..n_bins-1) holds the confidences in (b/n_bins, (b+1)/n_bins]; a confidence of
    exactly 0 goes to bin 0. Empty bins contribute nothing.
    Returns a 0-dim tensor (the dtype of `confidences`):
        sum_b (|B_b| / N) * |mean(correct in B_b) - mean(confidences in B_b)|.
    """
    # TODO: find each confidence's bin (ceil(conf * n_bins) - 1, clamped at 0), add up the
    #       confidences and the correct answers per bin (index_add_ or bincount), and note
    #       that |B| * |acc - conf| = |sum of correct - sum of confidences| in each bin.
    raise NotImplementedError


def brier_score(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted probabilities and binary outcomes.

    probs: (N,) predicted probability that the label is 1.
    labels: (N,) bool or 0/1.
    Returns a 0-dim tensor: mean over N of (probs - labels)^2; 0 is perfect, 0.25 is the
    score of always answering 0.5.
    """
    # TODO: one line.
    raise NotImplementedError


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Area under the ROC curve, as the Mann-Whitney statistic.

    scores: (N,) any real numbers, higher meaning "more likely positive".
    labels: (N,) bool or 0/1, with at least one positive and one negative (else ValueError).
    Returns a 0-dim float64 tensor: over all (positive, negative) pairs, the fraction in which
    the positive scores higher, counting a tie as 1/2.
    """
    # TODO: split the scores by label, compare every positive with every negative by
    #       broadcasting (P, 1) against (1, Q), and average 1 for ">" and 1/2 for "==".
    raise NotImplementedError
