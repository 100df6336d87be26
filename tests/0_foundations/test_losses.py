"""Checks for losses: torch.nn.functional as the oracle, plus closed forms and invariants. Every call
hands the learner copies of its inputs (support/untouched.py); the oracle sees the originals."""

import math

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("losses")
untouched = retreat.load_support("untouched")


def torch_ce(logits, targets, **kwargs):
    """F.cross_entropy with the class axis last, as our cross_entropy takes it."""
    C = logits.size(-1)
    return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1), **kwargs)


def ce(logits, targets, **kwargs):
    return untouched.call(ex.cross_entropy, logits, targets, **kwargs)


def test_matches_f_cross_entropy_on_a_batch():
    logits = torch.randn(16, 10) * 2
    targets = torch.randint(0, 10, (16,))
    assert_close(ce(logits, targets), F.cross_entropy(logits, targets),
                 "cross_entropy of (N, C) logits matches F.cross_entropy")


def test_matches_f_cross_entropy_on_sequence_logits():
    logits = torch.randn(2, 7, 11)  # (B, T, V)
    targets = torch.randint(0, 11, (2, 7))
    out = ce(logits, targets)
    assert out.shape == (), f"cross_entropy returns a scalar (shape ()), got shape {tuple(out.shape)}"
    assert_close(out, torch_ce(logits, targets),
                 "cross_entropy of (B, T, V) logits matches F.cross_entropy on the flattened tokens")


def test_uniform_logits_give_log_of_the_class_count():
    targets = torch.randint(0, 50, (6,))
    for eps in (0.0, 0.3):
        assert_close(ce(torch.zeros(6, 50), targets, label_smoothing=eps), torch.tensor(math.log(50)),
                     f"equal logits over 50 classes give a loss of log(50) (label_smoothing={eps})")


def test_ignored_positions_are_left_out_of_the_mean():
    logits = torch.randn(3, 8, 5)
    targets = torch.randint(0, 5, (3, 8))
    targets[0, :5] = -100
    targets[2, 6:] = -100
    loss = ce(logits, targets)
    assert_close(loss, torch_ce(logits, targets, ignore_index=-100),
                 "cross_entropy with ignore_index=-100 matches F.cross_entropy")
    keep = targets != -100
    assert_close(loss, ce(logits[keep], targets[keep]),
                 "the loss equals the loss over the kept positions only (mean over kept, not all)")
    changed = logits.clone()
    changed[~keep] = torch.randn(int((~keep).sum()), 5) * 10
    assert_close(ce(changed, targets), loss, "logits at ignored positions do not change the loss")


def test_targets_are_left_untouched():
    # Overwriting the ignored targets in place (targets[~keep] = 0) would silently turn the
    # caller's padding into class 0 for every later use of the batch.
    logits, targets = torch.randn(4, 6), torch.tensor([1, -100, 3, -100])
    assert_close(ce(logits, targets), F.cross_entropy(logits, targets),
                 "cross_entropy with ignored targets matches F.cross_entropy and leaves `targets` as it was")


def test_every_position_ignored_gives_nan_like_torch():
    logits, targets = torch.randn(2, 3, 4), torch.full((2, 3), -100)
    for eps in (0.0, 0.1):
        out = ce(logits, targets, label_smoothing=eps)
        assert out.shape == () and bool(torch.isnan(out)), (
            f"with every target ignored the mean is over no position: NaN (0 / 0), as F.cross_entropy "
            f"gives (label_smoothing={eps}); got {out}")


def test_custom_ignore_index():
    logits = torch.randn(12, 6)
    targets = torch.randint(0, 6, (12,))
    assert_close(ce(logits, targets, ignore_index=2), F.cross_entropy(logits, targets, ignore_index=2),
                 "cross_entropy with ignore_index=2 (a padding id) matches F.cross_entropy")


def test_label_smoothing_matches_torch():
    logits = torch.randn(4, 6, 9) * 3
    targets = torch.randint(0, 9, (4, 6))
    for eps in (0.1, 0.5, 1.0):
        assert_close(ce(logits, targets, label_smoothing=eps), torch_ce(logits, targets, label_smoothing=eps),
                     f"cross_entropy with label_smoothing={eps} matches F.cross_entropy")
    targets[1] = -100
    assert_close(ce(logits, targets, label_smoothing=0.2), torch_ce(logits, targets, label_smoothing=0.2),
                 "label_smoothing=0.2 together with ignored positions matches F.cross_entropy")


def test_finite_and_correct_for_huge_logits():
    logits = torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0], [0.0, 0.0, 1e4]])
    targets = torch.tensor([0, 2, 1])
    out = ce(logits, targets)
    assert bool(torch.isfinite(out)), "cross_entropy stays finite for logits of +-1e4"
    assert_close(out, F.cross_entropy(logits, targets), "cross_entropy of logits near +-1e4 matches F.cross_entropy")


def test_keeps_the_logits_dtype():
    logits = torch.randn(4, 6, 50) * 3
    targets = torch.randint(0, 50, (4, 6))
    targets[0] = -100
    for dtype in (torch.bfloat16, torch.float16, torch.float64):
        assert_close(ce(logits.to(dtype), targets, label_smoothing=0.1),
                     torch_ce(logits.double(), targets, label_smoothing=0.1).to(dtype),
                     f"cross_entropy of {dtype} logits is a {dtype} scalar and matches F.cross_entropy")


def test_gradient_matches_torch():
    logits = torch.randn(5, 4, 7, dtype=torch.float64)
    targets = torch.randint(0, 7, (5, 4))
    targets[0, 0] = -100
    ours_in = logits.clone().requires_grad_(True)  # the learner's copy; the oracle gets its own
    ex.cross_entropy(ours_in, targets.clone(), label_smoothing=0.1).backward()
    theirs_in = logits.clone().requires_grad_(True)
    torch_ce(theirs_in, targets, label_smoothing=0.1).backward()
    assert_close(ours_in.grad, theirs_in.grad, "the gradient of cross_entropy w.r.t. the logits matches torch's")


def test_mse_matches_f_mse_loss():
    for shape in [(10,), (4, 3), (2, 5, 6)]:
        pred, target = torch.randn(shape), torch.randn(shape)
        assert_close(untouched.call(ex.mse_loss, pred, target), F.mse_loss(pred, target),
                     f"mse_loss on shape {shape} matches F.mse_loss (mean over every element)")


def test_mse_closed_form():
    pred = torch.zeros(2, 4)
    target = torch.full((2, 4), 3.0)
    assert_close(untouched.call(ex.mse_loss, pred, target), torch.tensor(9.0),
                 "predicting 0 for targets that are all 3 gives an MSE of 9")
    x = torch.randn(3, 3)
    assert_close(untouched.call(ex.mse_loss, x, x), torch.tensor(0.0), "mse_loss of a tensor with itself is 0")
