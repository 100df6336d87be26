"""Checks for optimizers: torch.optim as the oracle after five steps, plus closed-form first steps."""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("optimizers")

# The first torch.optim optimizer built in a process imports torch._dynamo, which takes seconds:
# pay for it once while the module loads rather than inside the first timed test.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def make_model_and_data():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    return model, x, y


def train(model, opt, x, y, steps=5):
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


def assert_same_parameters(ours, theirs, what):
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert_close(p.detach(), q.detach(), f"after 5 steps, {name} equals {what}'s",
                     atol=1e-6, rtol=1e-5)


def compare(make_ours, make_theirs, what):
    model, x, y = make_model_and_data()
    twin = copy.deepcopy(model)
    train(model, make_ours(model.parameters()), x, y)
    train(twin, make_theirs(twin.parameters()), x, y)
    assert_same_parameters(model, twin, what)


def test_sgd_matches_torch():
    compare(lambda ps: ex.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1),
            "torch.optim.SGD(lr=0.1)")


def test_sgd_with_momentum_matches_torch():
    compare(lambda ps: ex.SGD(ps, lr=0.05, momentum=0.9),
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
            "torch.optim.SGD(lr=0.05, momentum=0.9)")


def test_adamw_matches_torch():
    compare(lambda ps: ex.AdamW(ps, lr=1e-2), lambda ps: torch.optim.AdamW(ps, lr=1e-2),
            "torch.optim.AdamW(lr=1e-2) (default betas, eps, weight_decay=0.01)")


def test_adamw_with_strong_decay_and_other_betas_matches_torch():
    compare(lambda ps: ex.AdamW(ps, lr=3e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.5),
            lambda ps: torch.optim.AdamW(ps, lr=3e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.5),
            "torch.optim.AdamW(lr=3e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.5)")


def test_adamw_without_decay_is_adam():
    compare(lambda ps: ex.AdamW(ps, lr=1e-2, weight_decay=0.0),
            lambda ps: torch.optim.Adam(ps, lr=1e-2),
            "torch.optim.Adam(lr=1e-2) (AdamW with weight_decay=0)")


def test_first_sgd_step_is_minus_lr_times_grad():
    p = torch.randn(5, requires_grad=True)
    start, grad = p.detach().clone(), torch.randn(5)
    p.grad = grad.clone()
    ex.SGD([p], lr=0.3, momentum=0.9).step()
    assert_close(p.detach(), start - 0.3 * grad, "the first SGD step is p - lr * grad, even with momentum")
    assert_close(p.grad, grad, "step() reads p.grad without changing it")


def test_first_adam_step_has_size_lr():
    p = torch.randn(6, requires_grad=True)
    start, grad = p.detach().clone(), torch.tensor([3.0, -0.01, 1e-3, -20.0, 0.5, 7.0])
    p.grad = grad.clone()
    ex.AdamW([p], lr=0.1, weight_decay=0.0).step()
    # With bias correction m_hat = g and v_hat = g**2 on step 1, so every entry moves by lr.
    assert_close(p.detach(), start - 0.1 * grad.sign(),
                 "thanks to bias correction, Adam's first step moves every entry by lr against "
                 "the sign of its gradient", atol=1e-5, rtol=1e-5)
    assert_close(p.grad, grad, "step() reads p.grad without changing it")


def test_weight_decay_is_decoupled_from_the_gradient():
    p = torch.randn(4, 3, requires_grad=True)
    start = p.detach().clone()
    opt = ex.AdamW([p], lr=0.1, weight_decay=0.2)
    for _ in range(5):
        p.grad = torch.zeros_like(p)
        opt.step()
    assert_close(p.detach(), start * (1 - 0.1 * 0.2) ** 5,
                 "with zero gradients AdamW only shrinks the weights, by (1 - lr * weight_decay) per step")


def test_zero_grad_clears_gradients():
    model, x, y = make_model_and_data()
    for opt in (ex.SGD(model.parameters(), lr=0.1), ex.AdamW(model.parameters(), lr=0.1)):
        F.cross_entropy(model(x), y).backward()
        opt.zero_grad()
        for name, p in model.named_parameters():
            assert p.grad is None or not p.grad.any(), f"zero_grad clears the gradient of {name}"


def test_parameters_without_gradient_are_left_alone():
    used = torch.randn(3, requires_grad=True)
    frozen = torch.randn(3, requires_grad=True)
    before = frozen.detach().clone()
    for opt in (ex.SGD([used, frozen], lr=0.1, momentum=0.9), ex.AdamW([used, frozen], lr=0.1)):
        used.grad = torch.ones(3)
        opt.step()
        assert_close(frozen.detach(), before, f"{type(opt).__name__} skips a parameter whose grad is None")


def test_adamw_counts_steps_per_parameter():
    # `late` gets no gradient on the first two steps (a frozen layer, an unused embedding row...):
    # torch.optim gives it t = 1 on its first real update, so its bias correction starts afresh.
    early, late = torch.randn(4, requires_grad=True), torch.randn(3, requires_grad=True)
    twins = [early.detach().clone().requires_grad_(True), late.detach().clone().requires_grad_(True)]
    ours = ex.AdamW([early, late], lr=0.1, betas=(0.8, 0.9))
    theirs = torch.optim.AdamW(twins, lr=0.1, betas=(0.8, 0.9))
    g = torch.Generator().manual_seed(3)
    for step in range(5):
        grads = (torch.randn(4, generator=g), None if step < 2 else torch.randn(3, generator=g))
        for params in ([early, late], twins):
            for p, grad in zip(params, grads, strict=True):
                p.grad = None if grad is None else grad.clone()
        ours.step()
        theirs.step()
    for name, p, q in (("early", early, twins[0]), ("late", late, twins[1])):
        assert_close(p.detach(), q.detach(),
                     f"the parameter {name!r} equals torch.optim.AdamW's: t counts the updates each "
                     "parameter received (a parameter without a gradient does not advance its t)",
                     atol=1e-6, rtol=1e-5)
