"""Checks for training-loop: the loss, the optimisation loop and evaluation, on tiny bigram models.
Every call hands the learner copies of its inputs (support/untouched.py)."""

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("training-loop")
untouched = retreat.load_support("untouched")

V = 11  # vocabulary size of the toy models


class Bigram(nn.Module):
    """The smallest language model: the next token's logits depend on the current token only."""

    def __init__(self, vocab_size: int = V, std: float = 0.01, dropout: float = 0.0):
        super().__init__()
        self.table = nn.Embedding(vocab_size, vocab_size)
        nn.init.normal_(self.table.weight, std=std)
        self.drop = nn.Dropout(dropout)
        self.seen = []  # (training, grad_enabled) at each forward

    def forward(self, ids):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.drop(self.table(ids))  # (B, T, V)


def random_batches(n, B=4, T=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g))
            for _ in range(n)]


def test_lm_loss_is_mean_negative_log_probability_of_targets():
    logits = torch.randn(3, 5, V)
    targets = torch.randint(0, V, (3, 5))
    expected = -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
    assert_close(untouched.call(ex.lm_loss, logits, targets), expected, "lm_loss equals the mean of -log p(target)")


def test_initial_loss_is_about_ln_vocab_size():
    model = Bigram(std=0.01)
    losses = untouched.call(ex.train, model, random_batches(1), torch.optim.SGD(model.parameters(), lr=0.0), steps=1)
    assert abs(losses[0] - math.log(V)) < 0.02, (
        f"a model with near-zero logits guesses uniformly, so its first loss is ln V = {math.log(V):.3f}; "
        f"got {losses[0]:.3f}")


def test_returns_one_python_float_per_step():
    model = Bigram()
    losses = untouched.call(ex.train, model, random_batches(2), torch.optim.SGD(model.parameters(), lr=0.1), steps=5)
    assert isinstance(losses, list) and len(losses) == 5, "train returns a list with one loss per step"
    assert all(isinstance(x, float) for x in losses), "each loss is a Python float (use loss.item())"


def test_matches_a_reference_loop_step_by_step():
    batches = random_batches(3)
    model = Bigram(std=1.0)
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.5, momentum=0.9)
    losses = untouched.call(ex.train, model, batches, opt, steps=7)  # 7 steps over 3 batches: the batches cycle
    expected = []
    for step in range(7):
        x, y = batches[step % 3]
        loss = F.cross_entropy(ref(x).flatten(0, 1), y.flatten())
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        expected.append(loss.item())
    assert_close(torch.tensor(losses), torch.tensor(expected),
                 "each step's loss (measured before the update, batches cycling) matches a reference loop")
    assert_close(model.table.weight, ref.table.weight,
                 "parameters after 7 steps match a reference loop (zero the gradients every step)")


def test_overfits_a_single_batch():
    perm = torch.randperm(V)
    inputs = torch.randint(0, V, (8, 16))
    batch = (inputs, perm[inputs])  # the next token is a fixed function of the current one
    model = Bigram()
    losses = untouched.call(ex.train, model, [batch], torch.optim.Adam(model.parameters(), lr=0.1), steps=100)
    assert losses[-1] < 0.05, f"a bigram model memorises one learnable batch (loss {losses[-1]:.3f} after 100 steps)"
    assert losses[-1] < losses[0], "the loss goes down during training"


def test_train_switches_on_training_mode():
    model = Bigram(dropout=0.5)
    model.eval()
    untouched.call(ex.train, model, random_batches(1), torch.optim.SGD(model.parameters(), lr=0.1), steps=2)
    assert model.seen and all(training for training, _ in model.seen), \
        "train() puts the model in training mode (model.train()) so dropout is active"


def test_evaluate_is_the_mean_over_all_tokens():
    model = Bigram(std=1.0)
    batches = random_batches(1, B=2, T=3) + random_batches(1, B=5, T=7, seed=1)
    logits = torch.cat([model(x).flatten(0, 1) for x, _ in batches])
    targets = torch.cat([y.flatten() for _, y in batches])
    got = untouched.call(ex.evaluate, model, batches)
    assert isinstance(got, float), "evaluate returns a Python float"
    assert_close(got, F.cross_entropy(logits, targets).item(),
                 "evaluate averages over every target token, so bigger batches weigh more")


def test_evaluate_runs_in_eval_mode_without_gradients():
    model = Bigram(dropout=0.5)
    model.train()
    untouched.call(ex.evaluate, model, random_batches(2))
    assert model.seen, "evaluate calls the model"
    assert not any(training for training, _ in model.seen), "evaluate runs the model in eval mode (dropout off)"
    assert not any(grad for _, grad in model.seen), "evaluate runs under torch.no_grad()"
    assert model.training, "evaluate puts the model back in training mode when it was training"
    assert torch.is_grad_enabled(), (
        "evaluate leaves autograd on for the code after it (a `with torch.no_grad():` block, not "
        "torch.set_grad_enabled(False) for good)")


def test_evaluate_is_deterministic_and_leaves_the_model_alone():
    model = Bigram(std=1.0, dropout=0.5)
    before = model.table.weight.detach().clone()
    batches = random_batches(2)
    first, second = untouched.call(ex.evaluate, model, batches), untouched.call(ex.evaluate, model, batches)
    assert first == second, "evaluate gives the same value twice (no dropout at evaluation)"
    assert_equal(model.table.weight.detach(), before, "evaluate does not change the parameters")
    assert model.table.weight.grad is None, "evaluate computes no gradients"


def test_lm_loss_accepts_logits_that_are_not_contiguous():
    logits = torch.randn(5, 3, V).transpose(0, 1)  # (B, T, V) from a time-major (T, B, V) model
    targets = torch.randint(0, V, (3, 5))
    assert not logits.is_contiguous()
    expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    assert_close(untouched.call(ex.lm_loss, logits, targets), expected,
                 "lm_loss works on logits that are not contiguous in memory (reshape, not view)")


def test_evaluate_leaves_an_eval_model_in_eval_mode():
    model = Bigram(dropout=0.5)
    model.eval()
    untouched.call(ex.evaluate, model, random_batches(2))
    assert not model.training, "evaluate puts the model back in the mode it was in: eval stays eval"


def test_evaluate_leaves_existing_gradients_alone():
    model = Bigram(std=1.0)
    grad = torch.randn(V, V)
    model.table.weight.grad = grad.clone()
    untouched.call(ex.evaluate, model, random_batches(2))
    assert_close(model.table.weight.grad, grad, "evaluate adds nothing to gradients the model already holds")
