"""Pretraining: your tokenizer, windows, GPT and training loop, on a real book.

Until now every piece ran on toy data. Here they come together on a novel, Jane Austen's
*Pride and Prejudice* (public domain, shipped in support/data/), and your GPT learns to write.
A real pretraining run adds four things to the plain loop of the training-loop exercise:

- a learning-rate schedule: a linear warm-up, then a cosine decay (`lr_at`);
- gradient clipping by the global norm of all the gradients (`clip_grad_norm`);
- a held-out validation split and a baseline to beat (`split_train_val`, `unigram_loss`);
- samples along the way, to read what the model has learned (`write`).

`train_step` is one optimisation step with the schedule and the clipping; `pretrain` runs the
whole thing: it trains your BPE tokenizer on the book, cuts your sliding windows, builds your
GPT and calls `train_step`, `evaluate` (from training-loop) and `write` as it goes.

Run this file for a longer run: a progress bar, a sample every few hundred steps, and a
checkpoint in HuggingFace GPT-2 format under the state folder (`.retreat/checkpoints/pretraining/`):

    python exercises/1_build_an_llm/12_pretraining.py               # your code, about 8 minutes
    python exercises/1_build_an_llm/12_pretraining.py --reference   # the reference solution
    python exercises/1_build_an_llm/12_pretraining.py --help        # steps, sizes, where to save

Write `lr_at`, `clip_grad_norm`, `split_train_val`, `unigram_loss`, `train_step`, `write` and
the training loop inside `pretrain`.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

import retreat

bpe = retreat.load_exercise("bpe")  # your BPETokenizer
windows = retreat.load_exercise("sliding-window-dataset")  # your make_windows
gpt = retreat.load_exercise("gpt-model")  # your GPT and GPTConfig
loop = retreat.load_exercise("training-loop")  # your lm_loss and evaluate
decoding = retreat.load_exercise("decoding")  # your generate


def lr_at(step: int, max_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """The learning rate of optimisation step `step` (counted from 0) in a run of `total_steps`.

    Warm-up, steps 0 .. warmup_steps - 1: a straight line that ends at the peak,
        lr = max_lr * (step + 1) / warmup_steps         (step 0 gets max_lr / warmup_steps, not 0)
    Cosine decay, from step warmup_steps on: with progress p = (step - warmup_steps) / (total_steps - warmup_steps),
        lr = min_lr + (max_lr - min_lr) * (1 + cos(pi * p)) / 2
    so the rate is max_lr at p = 0 and reaches min_lr at step == total_steps; steps past the end
    stay at min_lr. warmup_steps = 0 means no warm-up. Returns a Python float.
    """
    ### TODO: three cases: during the warm-up (step < warmup_steps) the straight line; past the
    ###       end (step >= total_steps) min_lr; otherwise the cosine of the progress through the
    ###       decay phase (0 at its start, 1 at total_steps).
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (max_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    ### END


def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float) -> float:
    """Scale the gradients of `parameters` in place so that their GLOBAL L2 norm is at most `max_norm`.

    The global norm treats every gradient as part of one long vector:
        norm = sqrt(sum over parameters p with a gradient of sum(p.grad ** 2))
    If norm > max_norm, multiply every gradient by max_norm / (norm + 1e-6) (PyTorch adds the same
    1e-6); otherwise leave the gradients alone. The direction of the update is kept, only its
    length shrinks. Parameters whose .grad is None are skipped; the parameters themselves never
    change. `parameters` may be a generator (model.parameters()), so read it only once.
    Returns the norm before clipping, as a Python float (0.0 if no parameter has a gradient).
    """
    ### TODO: collect the gradients that exist; add up the squares of all their entries, take the
    ###       square root; if it is above max_norm, multiply each gradient in place (mul_) by
    ###       max_norm / (norm + 1e-6). Return the norm measured before scaling.
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norm = math.sqrt(sum(float(g.detach().double().square().sum()) for g in grads))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads:
            g.mul_(scale)
    return norm
    ### END


def split_train_val(ids: list[int] | torch.Tensor, val_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a token stream into a training part and a validation part that never overlap.

    The split is contiguous, not shuffled: the LAST int(len(ids) * val_fraction) tokens are the
    validation set and all the tokens before them the training set. (Shuffled windows of one
    book would put copies of the same sentences on both sides.) Both parts must be non-empty.
    Returns (train_ids, val_ids), 1-D int64 tensors whose concatenation is `ids`.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    ### TODO: compute the number of validation tokens, check that both parts are non-empty
    ###       (raise ValueError otherwise), and slice.
    n_val = int(len(ids) * val_fraction)
    if n_val < 1 or n_val >= len(ids):
        raise ValueError(f"val_fraction={val_fraction} of {len(ids)} tokens leaves a part empty")
    return ids[:-n_val], ids[-n_val:]
    ### END


def unigram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int) -> float:
    """The baseline any language model must beat: cross-entropy of a model that ignores the context.

    The unigram model predicts every token with its frequency in the TRAINING tokens, with add-one
    (Laplace) smoothing so that a token never seen in training still has a probability:
        p(v) = (count_train(v) + 1) / (len(train_ids) + vocab_size)
    Returns the mean of -log p(v) over the validation tokens, a Python float (in nats).
    """
    ### TODO: count the training tokens (torch.bincount with minlength), add one, normalise, and
    ###       average -log p over the validation ids.
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1.0  # (V,)
    log_p = counts.log() - counts.sum().log()
    return float(-log_p[val_ids].mean())
    ### END


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
               targets: torch.Tensor, lr: float, max_norm: float) -> tuple[float, float]:
    """One optimisation step at learning rate `lr`, with the gradients clipped to `max_norm`.

    inputs, targets: (B, T) token ids. In order: set `lr` in every one of the optimizer's
    param_groups, run the model, compute `loop.lm_loss`, clear the old gradients, backpropagate,
    clip with `clip_grad_norm(model.parameters(), max_norm)`, and let the optimizer step.
    Returns (loss before the update, gradient norm before clipping), both Python floats.
    """
    ### TODO: set group["lr"] = lr for each group in optimizer.param_groups; then forward,
    ###       loss, zero_grad, backward, clip, step. Clip AFTER backward and BEFORE step.
    for group in optimizer.param_groups:
        group["lr"] = lr
    loss = loop.lm_loss(model(inputs), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = clip_grad_norm(model.parameters(), max_norm)
    optimizer.step()
    return loss.item(), norm
    ### END


def write(model: nn.Module, tokenizer, prompt: str, max_new_tokens: int, temperature: float = 0.8,
          top_k: int | None = 40, generator: torch.Generator | None = None) -> str:
    """The model's continuation of `prompt` (a non-empty string), as text: the prompt, then the new text.

    Encode the prompt with the tokenizer, run `decoding.generate` on one sequence (a batch of 1)
    with the model's context length (`model.config.context_length`) and the sampling settings
    given, then decode all the ids. temperature=0 gives the greedy continuation.
    """
    ### TODO: ids = a (1, T) long tensor of the prompt's token ids; generate; decode row 0.
    ids = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long)  # (1, T)
    out = decoding.generate(model, ids, max_new_tokens, temperature=temperature, top_k=top_k,
                            generator=generator, context_length=model.config.context_length)
    return tokenizer.decode(out[0].tolist())
    ### END


@dataclass
class PretrainConfig:
    """Everything a run needs. The defaults are the longer run (a few minutes on two CPU cores)."""

    vocab_size: int = 512  # 256 bytes + 256 merges
    tokenizer_chars: int = 200_000  # the tokenizer trains on the first characters only (pure Python is slow)
    context_length: int = 64
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    dropout: float = 0.0
    batch_size: int = 32
    steps: int = 1500
    max_lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    max_norm: float = 1.0
    val_fraction: float = 0.1
    eval_every: int = 250  # steps between validation losses (and at the last step)
    sample_every: int = 250  # steps between samples (and at the last step); 0: never
    prompt: str = "It is a truth"
    sample_tokens: int = 60
    seed: int = 0


@dataclass
class Pretrained:
    """What `pretrain` returns."""

    tokenizer: object  # the trained BPETokenizer
    model: nn.Module  # the trained GPT
    baseline: float  # unigram_loss of the validation tokens
    train_losses: list[float] = field(default_factory=list)  # one per step
    val_losses: list[tuple[int, float]] = field(default_factory=list)  # (steps done, validation loss)
    samples: list[tuple[int, str]] = field(default_factory=list)  # (steps done, text)


def pretrain(text: str, config: PretrainConfig, on_event: Callable[[dict], None] | None = None) -> Pretrained:
    """Train a tokenizer and a GPT on `text`; returns the `Pretrained` result.

    The data, the model and the optimizer are set up for you. The loop (yours) runs config.steps
    steps; step s (from 0) uses the rate lr_at(s, max_lr, warmup_steps, steps, min_lr) and a batch
    of config.batch_size training windows drawn at random with `generator`. After every step it
    reports {"kind": "step", "step": s + 1, "loss": ..., "lr": ..., "grad_norm": ...}; every
    `eval_every` steps (and after the last) it evaluates on the validation windows and reports
    {"kind": "val", "step": s + 1, "val_loss": ...}; every `sample_every` steps (and after the
    last, unless sample_every is 0) it writes `config.sample_tokens` tokens after `config.prompt`
    with `sample_generator` and reports {"kind": "sample", "step": s + 1, "text": ...}. Each
    report also goes into the result's lists.
    """
    emit = on_event or (lambda event: None)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)  # which windows make each batch
    sample_generator = torch.Generator().manual_seed(config.seed + 1)  # the samples' draws

    tokenizer = bpe.BPETokenizer()
    emit({"kind": "stage", "text": f"training a {config.vocab_size}-token BPE tokenizer"})
    tokenizer.train(text[: config.tokenizer_chars], config.vocab_size)
    emit({"kind": "stage", "text": f"encoding {len(text):,} characters"})
    train_ids, val_ids = split_train_val(tokenizer.encode(text), config.val_fraction)
    T = config.context_length
    x_train, y_train = windows.make_windows(train_ids, T, stride=max(1, T // 4))  # (N, T) each
    x_val, y_val = windows.make_windows(val_ids, T, stride=T)  # every validation token once
    val_batches = [(x_val[i : i + config.batch_size], y_val[i : i + config.batch_size])
                   for i in range(0, len(x_val), config.batch_size)]
    if len(x_train) == 0 or not val_batches:
        raise ValueError(f"text too short for windows of {T} tokens on both sides of the split")

    model = gpt.GPT(gpt.GPTConfig(vocab_size=config.vocab_size, context_length=T, d_model=config.d_model,
                                  n_heads=config.n_heads, n_layers=config.n_layers, dropout=config.dropout))
    # Weight decay on the matrices only: decaying biases and LayerNorm gains towards 0 does not help.
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ], lr=config.max_lr, betas=(0.9, 0.95))
    result = Pretrained(tokenizer, model, unigram_loss(train_ids, val_ids, config.vocab_size))
    emit({"kind": "data", "train_tokens": len(train_ids), "val_tokens": len(val_ids),
          "parameters": sum(p.numel() for p in params), "baseline": result.baseline})

    model.train()
    ### TODO: for each step s: the learning rate from lr_at; a batch of random training windows
    ###       (torch.randint(len(x_train), (config.batch_size,), generator=generator)); train_step;
    ###       record and emit the loss. Every eval_every steps and after the last: loop.evaluate on
    ###       val_batches, record, emit. Every sample_every steps (if not 0) and after the last:
    ###       write(...) with sample_generator, record, emit.
    for step in range(config.steps):
        done, last = step + 1, step + 1 == config.steps
        lr = lr_at(step, config.max_lr, config.warmup_steps, config.steps, config.min_lr)
        rows = torch.randint(len(x_train), (config.batch_size,), generator=generator)
        loss, norm = train_step(model, optimizer, x_train[rows], y_train[rows], lr, config.max_norm)
        result.train_losses.append(loss)
        emit({"kind": "step", "step": done, "loss": loss, "lr": lr, "grad_norm": norm})
        if done % config.eval_every == 0 or last:
            val_loss = loop.evaluate(model, val_batches)
            result.val_losses.append((done, val_loss))
            emit({"kind": "val", "step": done, "val_loss": val_loss})
        if config.sample_every and (done % config.sample_every == 0 or last):
            sample = write(model, tokenizer, config.prompt, config.sample_tokens, generator=sample_generator)
            result.samples.append((done, sample))
            emit({"kind": "sample", "step": done, "text": sample})
    ### END
    return result


if __name__ == "__main__":
    retreat.load_support("pretraining_run").main(__file__)
