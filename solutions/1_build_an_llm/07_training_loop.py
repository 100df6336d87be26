"""Training loop: teach a language model to predict the next token, and measure how well it does.

A language model maps token ids `(B, T)` to logits `(B, T, V)`: at every position, a score for
each of the V tokens of the vocabulary that could come next. Training minimises the mean
cross-entropy between those logits and the targets, the inputs shifted by one token.

You write three functions:

- `lm_loss(logits, targets)`: the mean next-token cross-entropy over every position.
- `train(model, batches, optimizer, steps)`: `steps` optimisation steps; returns the losses.
- `evaluate(model, batches)`: the mean loss over held-out batches, without touching the model.

Any `nn.Module` that maps `(B, T)` ids to `(B, T, V)` logits works: a bigram table, your GPT.
A freshly initialised model knows nothing, so its first loss should be close to ln V.
"""

import itertools

import torch
import torch.nn as nn
import torch.nn.functional as F


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of next-token predictions.

    logits: (B, T, V) float scores; targets: (B, T) token ids. Returns a scalar tensor: the mean
    over all B*T positions of -log softmax(logits)[target]. (F.cross_entropy wants (N, V) and (N,).)
    The logits need not be contiguous in memory (a model may hand back a transposed view), so
    flatten with reshape, which copies when it must; view would fail.
    """
    ### TODO: flatten batch and time into one axis and call F.cross_entropy.
    B, T, V = logits.shape
    return F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
    ### END


def train(model: nn.Module, batches, optimizer: torch.optim.Optimizer, steps: int) -> list[float]:
    """Run `steps` optimisation steps and return the training loss of each step.

    batches: an iterable of `(inputs, targets)` pairs, each `(B, T)` token ids; when it runs out
        before `steps` steps, start again from its first batch (`itertools.cycle` does this).
    Each step: forward the inputs, compute `lm_loss`, clear the old gradients, backpropagate,
    and let the optimizer update the parameters. Put the model in training mode first.
    Returns a list of `steps` Python floats: the loss of each step, measured before its update.
    """
    ### TODO: model.train(); then for each of `steps` batches (cycling): forward, lm_loss,
    ###       optimizer.zero_grad(), loss.backward(), optimizer.step(); record loss.item().
    model.train()
    losses = []
    for inputs, targets in itertools.islice(itertools.cycle(batches), steps):
        logits = model(inputs)  # (B, T, V)
        loss = lm_loss(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END


def evaluate(model: nn.Module, batches) -> float:
    """The mean next-token loss over every target token in `batches`, as a Python float.

    batches: an iterable of `(inputs, targets)` pairs; they may differ in size, so weight each
        batch's mean loss by its number of tokens (or sum the losses and divide by the count).
    Evaluation must not change anything: run in eval mode (dropout off), inside `torch.no_grad()`
    (no graph, no gradients: any .grad the parameters hold stays as it is), and put the model back
    in the mode it was in: training mode if it was training, eval mode if it was evaluating.
    """
    ### TODO: remember model.training and switch to model.eval(); under torch.no_grad(), add up
    ###       loss * n_tokens and n_tokens over the batches; restore the mode: model.train(was_training).
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, targets in batches:
            loss = lm_loss(model(inputs), targets)
            total += loss.item() * targets.numel()
            count += targets.numel()
    model.train(was_training)
    return total / count
    ### END
