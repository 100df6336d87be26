"""Checks for calibration.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import pytest
import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("calibration")


def value(x):
    """The result as a float64 scalar tensor (a Python float is accepted too)."""
    return torch.tensor(float(x), dtype=torch.float64)


def expected(x):
    return torch.tensor(x, dtype=torch.float64)


# ---- ECE --------------------------------------------------------------------------------------

def test_perfectly_calibrated_data_has_near_zero_ece():
    g = torch.Generator().manual_seed(0)
    conf = torch.rand(200_000, generator=g, dtype=torch.float64)
    correct = torch.rand(200_000, generator=g, dtype=torch.float64) < conf  # right with prob = conf
    ece = value(ex.expected_calibration_error(conf.clone(), correct.clone()))
    assert ece < 0.01, f"a model right with probability equal to its confidence has ECE near 0 (got {float(ece):.4f})"


def test_ece_closed_form():
    conf = torch.tensor([0.95, 0.95, 0.85, 0.55, 0.55, 0.15], dtype=torch.float64)
    correct = torch.tensor([1, 0, 1, 1, 1, 0])
    # bins (0.9, 1]: acc 0.5 vs conf 0.95; (0.8, 0.9]: 1 vs 0.85; (0.5, 0.6]: 1 vs 0.55; (0.1, 0.2]: 0 vs 0.15
    ece = (2 * 0.45 + 1 * 0.15 + 2 * 0.45 + 1 * 0.15) / 6
    assert_close(value(ex.expected_calibration_error(conf.clone(), correct.clone())), expected(ece),
                 "ECE = sum over bins of (bin size / N) * |accuracy - mean confidence|")


def test_overconfident_model():
    conf = torch.full((10,), 0.9, dtype=torch.float64)
    correct = torch.tensor([True] * 6 + [False] * 4)
    assert_close(value(ex.expected_calibration_error(conf.clone(), correct.clone())), expected(0.3),
                 "90% confident but 60% right: ECE = 0.3")


def test_bins_are_closed_on_the_right():
    conf = torch.tensor([0.5, 0.5, 0.51, 1.0, 0.0], dtype=torch.float64)
    correct = torch.tensor([1, 1, 0, 1, 0])
    # (0.4, 0.5]: {0.5, 0.5} acc 1; (0.5, 0.6]: {0.51} acc 0; (0.9, 1]: {1.0} acc 1; bin 0: {0.0} acc 0
    ece = (2 * 0.5 + 0.51 + 0.0 + 0.0) / 5
    assert_close(value(ex.expected_calibration_error(conf.clone(), correct.clone())), expected(ece),
                 "bin b holds (b/n, (b+1)/n]: 0.5 goes with 0.45, not 0.51; 1.0 goes to the last bin")


def test_one_bin_compares_the_overall_means():
    conf = torch.rand(50, dtype=torch.float64)
    correct = torch.rand(50, dtype=torch.float64) < 0.3
    overall = (correct.double().mean() - conf.mean()).abs()
    assert_close(value(ex.expected_calibration_error(conf.clone(), correct.clone(), n_bins=1)), overall,
                 "with one bin, ECE = |overall accuracy - mean confidence|")


def test_ece_ignores_the_order_and_empty_bins():
    conf = torch.rand(40, dtype=torch.float64) * 0.3 + 0.6  # only bins 6-8 are used
    correct = torch.rand(40) < 0.5
    ece = value(ex.expected_calibration_error(conf.clone(), correct.clone(), n_bins=10))
    assert torch.isfinite(ece), "empty bins do not produce NaN"
    perm = torch.randperm(40)
    assert_close(value(ex.expected_calibration_error(conf[perm], correct[perm], n_bins=10)), ece,
                 "shuffling the predictions does not change ECE")


# ---- Brier ------------------------------------------------------------------------------------

def test_brier_closed_form():
    probs = torch.tensor([0.9, 0.2, 0.6, 0.5], dtype=torch.float64)
    labels = torch.tensor([1, 0, 0, 1])
    assert_close(value(ex.brier_score(probs.clone(), labels.clone())), expected((0.01 + 0.04 + 0.36 + 0.25) / 4),
                 "Brier = mean of (p - y)^2")


def test_brier_extremes():
    labels = torch.tensor([1, 0, 1, 1, 0])
    assert_close(value(ex.brier_score(labels.double(), labels.clone())), expected(0.0), "perfect predictions score 0")
    assert_close(value(ex.brier_score(1 - labels.double(), labels.clone())), expected(1.0),
                 "confidently wrong predictions score 1")
    assert_close(value(ex.brier_score(torch.full((5,), 0.5, dtype=torch.float64), labels.bool())),
                 expected(0.25), "always answering 0.5 scores 0.25 (bool labels work too)")


# ---- AUROC ------------------------------------------------------------------------------------

def mann_whitney(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_auroc_equals_the_mann_whitney_statistic_with_ties():
    g = torch.Generator().manual_seed(5)
    scores = torch.randint(0, 6, (60,), generator=g).float()  # many ties
    labels = torch.rand(60, generator=g) < scores / 8
    assert_close(value(ex.auroc(scores.clone(), labels.clone())),
                 expected(mann_whitney(scores.tolist(), labels.tolist())),
                 "AUROC = P(positive scores higher than negative), ties counted as 1/2")


def test_auroc_extremes():
    labels = torch.tensor([0, 0, 1, 1, 0, 1])
    scores = torch.tensor([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    assert_close(value(ex.auroc(scores.clone(), labels.clone())), expected(1.0), "a perfect ranking has AUROC 1")
    assert_close(value(ex.auroc(-scores, labels.clone())), expected(0.0), "a reversed ranking has AUROC 0")
    assert_close(value(ex.auroc(torch.ones(6), labels.clone())), expected(0.5), "a constant score has AUROC 1/2")


def test_auroc_only_depends_on_the_ranking():
    scores = torch.randn(30, dtype=torch.float64)
    labels = torch.rand(30) < 0.5
    labels[0], labels[1] = True, False
    a = value(ex.auroc(scores.clone(), labels.clone()))
    assert_close(value(ex.auroc(scores.exp() * 3 + 1, labels.clone())), a,
                 "an increasing transform of the scores leaves AUROC unchanged")
    assert_close(value(ex.auroc(-scores, labels.clone())), 1 - a, "negating the scores gives 1 - AUROC")


def test_auroc_needs_both_classes():
    with pytest.raises(ValueError):
        ex.auroc(torch.randn(5), torch.ones(5, dtype=torch.bool))


def reference_ece(conf, correct, n_bins):
    """ECE by a plain loop over right-closed bins."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [(c, y) for c, y in zip(conf.tolist(), correct.tolist(), strict=True)
                   if lo < c <= hi or (b == 0 and c == 0.0)]
        if members:
            acc = sum(float(y) for _, y in members) / len(members)
            mean_conf = sum(c for c, _ in members) / len(members)
            total += len(members) / len(conf) * abs(acc - mean_conf)
    return total


def test_results_keep_the_confidences_dtype_and_auroc_is_float64():
    conf = torch.tensor([0.2, 0.9, 0.65, 0.4])
    correct = torch.tensor([False, True, True, False])
    for dtype in (torch.float32, torch.float64):
        ece = ex.expected_calibration_error(conf.to(dtype), correct.clone())
        assert torch.is_tensor(ece) and ece.dtype == dtype, \
            f"ECE of {dtype} confidences is a {dtype} tensor (got {getattr(ece, 'dtype', type(ece))})"
    auc = ex.auroc(conf.clone(), correct.clone())
    assert torch.is_tensor(auc) and auc.dtype == torch.float64, \
        f"AUROC is a float64 tensor whatever the scores' dtype (got {getattr(auc, 'dtype', type(auc))})"


def test_inputs_are_not_changed():
    conf = torch.rand(30, dtype=torch.float64)
    correct = torch.rand(30) < 0.5
    correct[0], correct[1] = True, False
    copies = conf.clone(), correct.clone()
    ex.expected_calibration_error(conf, correct, n_bins=7)
    ex.brier_score(conf, correct)
    ex.auroc(conf, correct)
    assert_equal(conf, copies[0], "the confidences are left unchanged")
    assert_equal(correct, copies[1], "the labels are left unchanged")


def test_on_the_worlds_transformer():
    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()  # trains a small transformer once per run
    probs = hw.answer_logits(model, world).double().softmax(-1)  # (200, V): the birth city
    conf, guess = probs.max(-1)
    correct = guess == world.city_tokens[world.city]
    ece = ex.expected_calibration_error(conf.clone(), correct.clone())
    assert_close(value(ece), expected(reference_ece(conf, correct, 10)),
                 "ECE of the world's transformer (confidence = top probability of the birth city)")
    auc = ex.auroc(conf.clone(), correct.clone())
    assert_close(value(auc), expected(mann_whitney(conf.tolist(), correct.tolist())),
                 "AUROC of the world's transformer's confidence")
    assert value(auc) > 0.75, f"the transformer is less sure when it is wrong (AUROC {float(auc):.2f})"
