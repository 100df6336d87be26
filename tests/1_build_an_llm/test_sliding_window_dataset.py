"""Checks for sliding-window-dataset: window count, the one-token shift, Tensor.unfold as oracle, and
fresh memory. Every call hands the learner copies of its inputs (support/untouched.py)."""

import pytest
import torch

import retreat
from retreat.testing import assert_equal

ex = retreat.load_exercise("sliding-window-dataset")
untouched = retreat.load_support("untouched")


def test_small_example():
    inputs, targets = untouched.call(ex.make_windows, [10, 11, 12, 13, 14, 15, 16], max_length=3, stride=2)
    assert_equal(inputs, torch.tensor([[10, 11, 12], [12, 13, 14]]), "inputs of the docstring example")
    assert_equal(targets, torch.tensor([[11, 12, 13], [13, 14, 15]]), "targets of the docstring example")


@pytest.mark.parametrize("n, max_length, stride", [(20, 4, 4), (20, 4, 1), (21, 4, 4), (17, 4, 4),
                                                   (100, 8, 3), (5, 4, 2), (9, 8, 8)])
def test_window_count(n, max_length, stride):
    inputs, targets = untouched.call(ex.make_windows, list(range(n)), max_length, stride)
    expected = (n - max_length - 1) // stride + 1
    assert inputs.shape == (expected, max_length), (
        f"{n} ids, max_length={max_length}, stride={stride}: expected inputs of shape "
        f"({expected}, {max_length}) (the last window needs one more id for its last target), "
        f"got {tuple(inputs.shape)}")
    assert targets.shape == inputs.shape, "targets have the same shape as inputs"


def test_matches_unfold():
    ids = torch.randint(0, 50257, (203,))
    inputs, targets = untouched.call(ex.make_windows, ids, max_length=16, stride=7)
    windows = ids.unfold(0, 16 + 1, 7)  # (n_windows, max_length + 1): inputs and targets together
    assert_equal(inputs, windows[:, :-1], "input windows equal ids.unfold(0, max_length + 1, stride)[:, :-1]")
    assert_equal(targets, windows[:, 1:], "target windows equal ids.unfold(0, max_length + 1, stride)[:, 1:]")


def test_targets_are_inputs_shifted_by_one():
    ids = torch.randint(0, 1000, (64,))
    inputs, targets = untouched.call(ex.make_windows, ids.tolist(), max_length=10, stride=5)
    assert inputs.dtype == torch.long and targets.dtype == torch.long, "inputs and targets are int64 tensors"
    assert_equal(targets[:, :-1], inputs[:, 1:], "targets[:, t] == inputs[:, t + 1]: the same window, one token later")
    starts = torch.arange(len(inputs)) * 5
    assert_equal(targets[:, -1], ids[starts + 10], "the last target of each window is the id right after it")


def test_too_short_input_gives_no_windows():
    inputs, targets = untouched.call(ex.make_windows, [1, 2, 3, 4], max_length=4, stride=1)
    assert inputs.shape == (0, 4) and targets.shape == (0, 4), (
        f"4 ids cannot fill one window of 4 inputs plus 1 target: expected shape (0, 4), got "
        f"{tuple(inputs.shape)}")


def test_outputs_are_fresh_memory():
    ids = torch.randint(0, 1000, (40,))
    mine = ids.clone()  # the learner's copy, which must survive
    inputs, targets = ex.make_windows(mine, max_length=6, stride=3)
    expected_inputs = ids.unfold(0, 7, 3)[:, :-1].clone()
    targets[:, :2] = -100  # what a collate function may do to mask some targets
    assert_equal(inputs, expected_inputs, "writing into targets does not change inputs (no shared memory)")
    assert_equal(mine, ids, "writing into targets does not change the ids they were cut from")
