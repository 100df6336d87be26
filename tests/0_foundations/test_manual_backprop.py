"""Checks for manual-backprop: autograd and finite differences (gradcheck) as the oracles. Every
call hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("manual-backprop")
untouched = retreat.load_support("untouched")

NAMES = ("W1", "b1", "W2", "b2")


def make_params(D=3, H=5, C=4, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    return {k: torch.randn(s, generator=g, dtype=dtype) for k, s in shapes.items()}


def autograd_reference(x, targets, params):
    """Loss and gradients of the same MLP, computed by PyTorch's autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    h = torch.tanh(x @ leaves["W1"] + leaves["b1"])
    loss = F.cross_entropy(h @ leaves["W2"] + leaves["b2"], targets)
    grads = torch.autograd.grad(loss, [leaves[k] for k in NAMES])
    return loss.detach(), dict(zip(NAMES, grads, strict=True))


class ManualMLP(torch.autograd.Function):
    """Wraps the learner's gradients as a backward pass, so gradcheck can test them."""

    @staticmethod
    def forward(ctx, x, targets, W1, b1, W2, b2):
        params = {k: v.detach().clone() for k, v in {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}
        loss, grads = ex.mlp_forward_backward(x.clone(), targets.clone(), params)  # the learner's copies
        ctx.grads = grads
        return loss.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return (None, None, *(grad_out * ctx.grads[k] for k in NAMES))


def test_loss_matches_f_cross_entropy():
    x, targets, params = torch.randn(8, 3), torch.randint(0, 4, (8,)), make_params()
    loss, _ = untouched.call(ex.mlp_forward_backward, x, targets, params)
    expected, _ = autograd_reference(x, targets, params)
    assert_close(loss, expected, "the loss equals F.cross_entropy of the MLP's logits")


def test_gradients_have_the_parameters_shapes():
    x, targets, params = torch.randn(8, 3), torch.randint(0, 4, (8,)), make_params()
    _, grads = untouched.call(ex.mlp_forward_backward, x, targets, params)
    assert set(grads) == set(NAMES), f"grads has the keys {sorted(NAMES)}, got {sorted(grads)}"
    for k in NAMES:
        assert grads[k].shape == params[k].shape, (
            f"grads[{k!r}] has the shape of {k}, {tuple(params[k].shape)}, "
            f"got {tuple(grads[k].shape)}")


def test_gradients_match_autograd():
    x, targets, params = torch.randn(16, 3), torch.randint(0, 4, (16,)), make_params()
    _, grads = untouched.call(ex.mlp_forward_backward, x, targets, params)
    _, expected = autograd_reference(x, targets, params)
    for k in NAMES:
        assert_close(grads[k], expected[k], f"the gradient for {k} matches autograd's")


def test_gradients_match_autograd_for_a_wider_net():
    params = make_params(D=10, H=32, C=7, dtype=torch.float64, seed=3)
    x, targets = torch.randn(64, 10, dtype=torch.float64) * 2, torch.randint(0, 7, (64,))
    _, grads = untouched.call(ex.mlp_forward_backward, x, targets, params)
    _, expected = autograd_reference(x, targets, params)
    for k in NAMES:
        assert_close(grads[k], expected[k], f"in float64 (D=10, H=32, C=7), d loss / d {k} matches autograd")


def test_gradcheck_against_finite_differences():
    params = make_params(dtype=torch.float64, seed=1)
    x, targets = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 3, 1, 3])
    leaves = [params[k].requires_grad_(True) for k in NAMES]
    try:
        ok = torch.autograd.gradcheck(ManualMLP.apply, (x, targets, *leaves), raise_exception=False)
    finally:
        for p in leaves:
            p.requires_grad_(False)
    assert ok, "your gradients agree with finite differences of the loss (torch.autograd.gradcheck, float64)"


def test_works_without_autograd():
    x, targets, params = torch.randn(8, 3), torch.randint(0, 4, (8,)), make_params()
    with torch.no_grad():
        _, grads = untouched.call(ex.mlp_forward_backward, x, targets, params)
    _, expected = autograd_reference(x, targets, params)
    for k in NAMES:
        assert_close(grads[k], expected[k],
                     f"the gradient for {k} is computed by hand (correct inside torch.no_grad())")


def test_batch_gradient_is_the_mean_of_example_gradients():
    x, targets, params = torch.randn(6, 3), torch.randint(0, 4, (6,)), make_params()
    _, batch = untouched.call(ex.mlp_forward_backward, x, targets, params)
    singles = [untouched.call(ex.mlp_forward_backward, x[i:i + 1], targets[i:i + 1], params)[1] for i in range(6)]
    for k in NAMES:
        mean = torch.stack([s[k] for s in singles]).mean(dim=0)
        assert_close(batch[k], mean, f"the batch gradient for {k} is the mean of the per-example ones")
