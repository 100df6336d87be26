"""Maintainers' oracle for calibration: brier_score and auroc against scikit-learn."""

import pytest
import torch

import retreat
from retreat.testing import assert_close

metrics = pytest.importorskip("sklearn.metrics")

sol = retreat.load_solution("calibration")


def random_case(seed, n, n_levels=None):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(n, generator=g, dtype=torch.float64)
    if n_levels is not None:  # quantised scores: many ties
        scores = torch.floor(scores * n_levels) / n_levels
    labels = torch.rand(n, generator=g, dtype=torch.float64) < scores
    labels[0], labels[1] = True, False  # both classes present
    return scores, labels


@pytest.mark.parametrize("seed", range(5))
def test_brier_score_matches_sklearn(seed):
    probs, labels = random_case(seed, 300)
    expected = metrics.brier_score_loss(labels.numpy(), probs.numpy())
    assert_close(torch.tensor(float(sol.brier_score(probs, labels)), dtype=torch.float64),
                 torch.tensor(expected, dtype=torch.float64),
                 "brier_score matches sklearn.metrics.brier_score_loss")


@pytest.mark.parametrize("seed,n_levels", [(0, None), (1, None), (2, 5), (3, 3), (4, 10)])
def test_auroc_matches_sklearn(seed, n_levels):
    scores, labels = random_case(seed, 400, n_levels)
    expected = metrics.roc_auc_score(labels.numpy(), scores.numpy())
    assert_close(torch.tensor(float(sol.auroc(scores, labels)), dtype=torch.float64),
                 torch.tensor(expected, dtype=torch.float64),
                 f"auroc matches sklearn.metrics.roc_auc_score (ties: {n_levels is not None})")
