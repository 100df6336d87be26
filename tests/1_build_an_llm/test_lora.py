"""Checks for lora: a frozen linear layer plus a trainable low-rank update, and merging it. Every call
hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("lora")
untouched = retreat.load_support("untouched")

D_IN, D_OUT, R, ALPHA = 12, 7, 3, 6.0


def trained_lora(bias=True):
    """A LoRALinear whose B is no longer zero, as after some training."""
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT, bias=bias), rank=R, alpha=ALPHA)
    with torch.no_grad():
        lora.lora_B.normal_()
    return lora


def test_a_fresh_adapter_gives_the_base_output():
    base = nn.Linear(D_IN, D_OUT)
    lora = ex.LoRALinear(base, rank=R, alpha=ALPHA)
    x = torch.randn(5, D_IN)
    assert_close(untouched.call(lora, x), base(x),
                 "B starts at zero, so a fresh LoRALinear computes exactly the base layer")


def test_parameter_shapes_and_initialisation():
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT), rank=R, alpha=ALPHA)
    assert lora.lora_A.shape == (R, D_IN), f"lora_A is (rank, d_in) = {(R, D_IN)}, got {tuple(lora.lora_A.shape)}"
    assert lora.lora_B.shape == (D_OUT, R), f"lora_B is (d_out, rank) = {(D_OUT, R)}, got {tuple(lora.lora_B.shape)}"
    assert_equal(lora.lora_B.detach(), torch.zeros(D_OUT, R), "lora_B starts at zero")
    assert bool((lora.lora_A != 0).all()), "lora_A starts random (if A and B were both zero, neither would learn)"


def test_output_is_the_base_plus_the_scaled_low_rank_update():
    lora = trained_lora()
    W, b = lora.base.weight.detach(), lora.base.bias.detach()
    delta = (ALPHA / R) * lora.lora_B.detach() @ lora.lora_A.detach()
    x = torch.randn(4, 6, D_IN)
    assert_close(untouched.call(lora, x), F.linear(x, W + delta, b),
                 "output = x @ (W + (alpha / rank) * B @ A)^T + bias")


def test_only_A_and_B_are_trainable():
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT), rank=R, alpha=ALPHA)
    trainable = {n for n, p in lora.named_parameters() if p.requires_grad}
    assert_equal(trainable, {"lora_A", "lora_B"}, "the base weight and bias are frozen; lora_A and lora_B train")
    count = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    assert_equal(count, R * (D_IN + D_OUT), "trainable parameter count is rank * (d_in + d_out)")


def test_gradients_at_initialisation():
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT), rank=R, alpha=ALPHA)
    untouched.call(lora, torch.randn(8, D_IN)).pow(2).sum().backward()
    assert lora.lora_B.grad is not None and lora.lora_B.grad.abs().sum() > 0, \
        "B receives a gradient at the first step (it flows through the random A)"
    assert_close(lora.lora_A.grad, torch.zeros(R, D_IN), "A's first gradient is zero, since B is zero")
    assert lora.base.weight.grad is None, "the frozen base weight gets no gradient"


def test_merged_equals_unmerged():
    lora = trained_lora()
    x = torch.randn(5, D_IN)
    before = untouched.call(lora, x).detach()
    expected_weight = lora.base.weight.detach() + (ALPHA / R) * lora.lora_B.detach() @ lora.lora_A.detach()
    merged = lora.merge()
    assert_close(lora.base.weight.detach(), expected_weight, "merge adds (alpha / rank) * B @ A to the base weight")
    assert_close(untouched.call(lora, x).detach(), before,
                 "the layer computes the same output after merge (the adapter is skipped)")
    assert isinstance(merged, nn.Linear), "merge returns the merged nn.Linear"
    assert_close(untouched.call(merged, x).detach(), before, "the returned nn.Linear alone computes the same output")


def test_merging_twice_changes_nothing():
    lora = trained_lora()
    x = torch.randn(3, D_IN)
    lora.merge()
    once = untouched.call(lora, x).detach()
    lora.merge()
    assert_close(untouched.call(lora, x).detach(), once, "a second merge() is a no-op")


def test_works_without_bias_and_in_float64():
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT, bias=False).double(), rank=2, alpha=4.0)
    assert lora.lora_A.dtype == torch.float64 and lora.lora_B.dtype == torch.float64, \
        "lora_A and lora_B take the base weight's dtype"
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(3, D_IN, dtype=torch.float64)
    W = lora.base.weight.detach() + 2.0 * lora.lora_B.detach() @ lora.lora_A.detach()
    assert_close(untouched.call(lora, x), x @ W.T, "a bias-free float64 layer works the same way")


def test_a_rank_one_update_is_a_rank_one_change():
    lora = ex.LoRALinear(nn.Linear(D_IN, D_OUT), rank=1, alpha=1.0)
    with torch.no_grad():
        lora.lora_B.normal_()
    W0 = lora.base.weight.detach().clone()
    lora.merge()
    change = lora.base.weight.detach() - W0
    assert_equal(int(torch.linalg.matrix_rank(change)), 1, "with rank 1, merging changes W by a rank-1 matrix")
