"""Checks for pretraining: the learning-rate schedule, global gradient clipping, the split, the
unigram baseline, one training step, writing, and one short run on a slice of the book.

Every test but the last takes well under a second. `test_a_short_run_beats_the_unigram_baseline`
trains a tokenizer and a tiny GPT on the first 40,000 characters of Pride and Prejudice: about
10 seconds of one core (the budget stated for it; the item's timeout is 120 s). It runs on one
thread (see `one_thread`).
"""

import copy
import math
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("pretraining")

CORPUS = Path(retreat.load_support("pretraining_run").CORPUS)


def reference_lr(step, max_lr, warmup_steps, total_steps, min_lr):
    """The schedule the docstring states, written out independently."""
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    p = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2


# -- the learning-rate schedule ------------------------------------------------------------------

def test_warmup_rises_in_a_straight_line_to_the_peak():
    lrs = [ex.lr_at(s, 1e-3, 10, 100, 1e-4) for s in range(10)]
    assert all(isinstance(x, float) for x in lrs), "lr_at returns a Python float"
    assert math.isclose(lrs[0], 1e-4, rel_tol=1e-9), (
        f"step 0 of a 10-step warm-up gets max_lr * 1 / 10 = 1e-4 (small, but not 0); got {lrs[0]}")
    assert math.isclose(lrs[9], 1e-3, rel_tol=1e-9), (
        f"the last warm-up step (9) reaches max_lr = 1e-3; got {lrs[9]}")
    steps = [b - a for a, b in zip(lrs, lrs[1:], strict=False)]
    assert all(math.isclose(d, 1e-4, rel_tol=1e-6) for d in steps), (
        f"the warm-up rises by max_lr / warmup_steps each step (a straight line); increments {steps}")


def test_cosine_decay_starts_at_the_peak_and_reaches_min_lr_at_the_end():
    max_lr, min_lr, W, N = 6e-4, 6e-5, 20, 220
    assert math.isclose(ex.lr_at(W, max_lr, W, N, min_lr), max_lr, rel_tol=1e-9), (
        "the decay starts at max_lr on the first step after the warm-up")
    middle = ex.lr_at(W + (N - W) // 2, max_lr, W, N, min_lr)
    assert math.isclose(middle, (max_lr + min_lr) / 2, rel_tol=1e-9), (
        f"half-way through the decay phase (step {W + (N - W) // 2}) the cosine gives (max_lr + min_lr) / 2 = "
        f"{(max_lr + min_lr) / 2:.3e}; got {middle:.3e} (is the progress measured over the decay phase only?)")
    assert math.isclose(ex.lr_at(N, max_lr, W, N, min_lr), min_lr, rel_tol=1e-9), (
        "the rate reaches min_lr at step == total_steps")
    assert all(math.isclose(ex.lr_at(s, max_lr, W, N, min_lr), min_lr, rel_tol=1e-9) for s in (N + 1, N + 50)), (
        "steps past the end stay at min_lr")


def test_decay_never_increases():
    lrs = [ex.lr_at(s, 3e-3, 7, 53, 3e-4) for s in range(6, 60)]
    assert all(b <= a + 1e-15 for a, b in zip(lrs, lrs[1:], strict=False)), (
        f"after the peak the learning rate only goes down; got {[f'{x:.2e}' for x in lrs]}")
    assert min(lrs) >= 3e-4 - 1e-15, "the learning rate never drops below min_lr"


def test_schedule_matches_the_formula_at_every_step():
    for W, N in [(5, 40), (1, 12), (0, 30), (30, 31)]:
        got = torch.tensor([ex.lr_at(s, 2e-3, W, N, 1e-4) for s in range(N + 3)], dtype=torch.float64)
        expected = torch.tensor([reference_lr(s, 2e-3, W, N, 1e-4) for s in range(N + 3)], dtype=torch.float64)
        assert_close(got, expected, f"lr_at over a whole run of {N} steps with {W} warm-up steps "
                     "(warmup_steps=0: no warm-up, the first step gets max_lr)")


# -- gradient clipping ---------------------------------------------------------------------------

def params_with_grads(norm_scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(5, 3), (3,), (4, 2, 2), (1,)]
    params = [nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * norm_scale
    return params


def clone_params(params):
    out = []
    for p in params:
        q = nn.Parameter(p.detach().clone())
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


def test_clipping_matches_torch_clip_grad_norm():
    params = params_with_grads(norm_scale=3.0)
    ours, theirs = clone_params(params), clone_params(params)
    norm = ex.clip_grad_norm(ours, max_norm=1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0)
    assert isinstance(norm, float), "clip_grad_norm returns the norm as a Python float"
    assert math.isclose(norm, float(expected), rel_tol=1e-5), (
        f"the returned norm is the global norm before clipping, {float(expected):.5f}; got {norm:.5f}")
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert_close(a.grad, b.grad, f"gradient {i} after clipping equals torch.nn.utils.clip_grad_norm_'s",
                     rtol=1e-5, atol=1e-6)


def test_clipping_is_global_not_per_tensor():
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0]), torch.tensor([4.0])  # global norm 5; each alone is under 5
    norm = ex.clip_grad_norm([a, b], max_norm=1.0)
    assert math.isclose(norm, 5.0, rel_tol=1e-6), f"the norm of gradients 3 and 4 is sqrt(9 + 16) = 5; got {norm}"
    assert_close(torch.cat([a.grad, b.grad]), torch.tensor([0.6, 0.8]),
                 "every gradient is scaled by the same factor max_norm / global norm (the direction is kept)",
                 rtol=1e-5, atol=1e-6)


def test_gradients_under_the_threshold_are_left_alone():
    params = params_with_grads(norm_scale=0.01)
    before = [p.grad.clone() for p in params]
    norm = ex.clip_grad_norm(params, max_norm=10.0)
    expected = math.sqrt(sum(float((g.double() ** 2).sum()) for g in before))
    assert math.isclose(norm, expected, rel_tol=1e-6), f"the returned norm is {expected:.6f}; got {norm:.6f}"
    for i, (p, g) in enumerate(zip(params, before, strict=True)):
        assert_equal(p.grad, g, f"gradient {i} is unchanged when the global norm is below max_norm")


def test_clipping_touches_only_the_gradients():
    params = params_with_grads(norm_scale=5.0)
    params.append(nn.Parameter(torch.ones(3)))  # no gradient: skipped
    values = [p.detach().clone() for p in params]
    expected_norm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params if p.grad is not None))
    norm = ex.clip_grad_norm((p for p in params), 0.5)
    assert math.isclose(norm, expected_norm, rel_tol=1e-5), (
        "clip_grad_norm accepts a generator (as model.parameters() is) and reads it once")
    assert params[-1].grad is None, "a parameter without a gradient keeps grad None"
    for i, (p, v) in enumerate(zip(params, values, strict=True)):
        assert_equal(p.detach(), v, f"parameter {i}'s values are unchanged: clipping scales gradients only")
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params if p.grad is not None))
    assert math.isclose(total, 0.5, rel_tol=1e-4), f"after clipping the global norm is max_norm = 0.5; got {total}"


# -- the split and the baseline ------------------------------------------------------------------

def test_split_keeps_the_last_fraction_for_validation():
    ids = torch.arange(1000) * 7 % 251
    given = ids.clone()
    train, val = ex.split_train_val(given, 0.1)
    assert_equal(given, ids, "split_train_val does not change its input")
    assert_equal(train, ids[:900], "the training part is the first 900 of 1000 tokens, in order")
    assert_equal(val, ids[900:], "the validation part is the last 100 tokens, in order (no shuffling)")
    assert train.dtype == val.dtype == torch.long, "both parts are int64 tensors"


def test_split_parts_are_disjoint_and_cover_the_stream():
    for n, fraction in [(50, 0.2), (37, 0.5), (10, 0.1), (12345, 0.05)]:
        ids = list(range(n))
        train, val = ex.split_train_val(ids, fraction)
        n_val = int(n * fraction)
        assert (len(train), len(val)) == (n - n_val, n_val), (
            f"{n} tokens with val_fraction={fraction}: {n - n_val} training and {n_val} validation tokens; "
            f"got {len(train)} and {len(val)}")
        assert_equal(torch.cat([train, val]), torch.arange(n),
                     f"train then validation is the whole stream, each token once ({n} tokens)")


def test_split_refuses_an_empty_part():
    for fraction in (0.01, 1.0):
        with pytest.raises(ValueError):
            ex.split_train_val(list(range(20)), fraction)  # 0.2 tokens or all 20 for validation


def test_unigram_loss_is_the_smoothed_frequency_cross_entropy():
    g = torch.Generator().manual_seed(1)
    V = 12
    train = torch.multinomial(torch.rand(V, generator=g) ** 3, 300, replacement=True, generator=g)
    val = torch.randint(0, V, (77,), generator=g)
    val[0] = V - 1
    train = train[train != V - 1]  # token V-1 never occurs in training, only in validation
    counts = torch.bincount(train, minlength=V).double() + 1
    expected = float(-(counts / counts.sum()).log()[val].mean())
    got = ex.unigram_loss(train.clone(), val.clone(), V)
    assert isinstance(got, float), "unigram_loss returns a Python float"
    assert math.isclose(got, expected, rel_tol=1e-6), (
        f"mean -log p(v) over the validation tokens with p = (count in TRAINING + 1) / (N + V): "
        f"{expected:.6f}; got {got:.6f}")


def test_unigram_loss_of_a_uniform_training_set_is_ln_V():
    V = 9
    got = ex.unigram_loss(torch.arange(V).repeat(4), torch.tensor([0, 3, 3, 8]), V)
    assert math.isclose(got, math.log(V), rel_tol=1e-9), f"every token equally frequent gives ln V = {math.log(V):.4f}"


# -- one step, and writing -----------------------------------------------------------------------

class TinyLM(nn.Module):
    """ids (B, T) -> logits (B, T, V): an embedding and a linear layer, with a config like the GPT's."""

    def __init__(self, V=10, d=6, context_length=8):
        super().__init__()
        self.config = type("Config", (), {"context_length": context_length, "vocab_size": V})()
        self.emb = nn.Embedding(V, d)
        self.pos = nn.Embedding(context_length, d)  # more than context_length tokens: IndexError
        self.head = nn.Linear(d, V)

    def forward(self, ids):
        return self.head(self.emb(ids) + self.pos(torch.arange(ids.shape[1])))


def test_train_step_sets_the_rate_and_clips_before_the_update():
    torch.manual_seed(0)
    model = TinyLM()
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=123.0)
    x, y = torch.randint(0, 10, (3, 8)), torch.randint(0, 10, (3, 8))
    xc, yc = x.clone(), y.clone()
    loss, norm = ex.train_step(model, opt, xc, yc, lr=0.5, max_norm=0.01)
    assert_equal(xc, x, "train_step does not change the inputs")
    assert all(group["lr"] == 0.5 for group in opt.param_groups), "train_step sets lr in every param group"

    expected_loss = F.cross_entropy(ref(x).flatten(0, 1), y.flatten())
    expected_loss.backward()
    grads = [p.grad for p in ref.parameters()]
    expected_norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    assert isinstance(loss, float) and isinstance(norm, float), "train_step returns two Python floats"
    assert math.isclose(loss, expected_loss.item(), rel_tol=1e-5), "the loss returned is the one before the update"
    assert math.isclose(norm, expected_norm, rel_tol=1e-5), "the norm returned is the gradient norm before clipping"
    moved = math.sqrt(sum(float(((a - b).detach().double() ** 2).sum())
                          for a, b in zip(model.parameters(), ref.parameters(), strict=True)))
    assert math.isclose(moved, 0.5 * 0.01, rel_tol=1e-3), (
        f"plain SGD at lr 0.5 with gradients clipped to norm 0.01 moves the parameters by 0.5 * 0.01 = 0.005; "
        f"they moved {moved:.6f} (clip after backward and before step, with the new lr)")


def test_train_step_matches_a_reference_step_with_adamw():
    torch.manual_seed(0)
    model = TinyLM()
    ref = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1.0, weight_decay=0.1)
    ref_opt = torch.optim.AdamW(ref.parameters(), lr=1.0, weight_decay=0.1)
    g = torch.Generator().manual_seed(3)
    for step, lr in enumerate([1e-2, 3e-2, 2e-2]):
        x, y = torch.randint(0, 10, (4, 8), generator=g), torch.randint(0, 10, (4, 8), generator=g)
        ex.train_step(model, opt, x.clone(), y.clone(), lr=lr, max_norm=0.3)
        for group in ref_opt.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(ref(x).flatten(0, 1), y.flatten())
        ref_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.3)
        ref_opt.step()
        for (name, a), b in zip(model.named_parameters(), ref.parameters(), strict=True):
            assert_close(a, b, f"{name} after step {step + 1} matches a reference step (new lr, clipped, AdamW)",
                         rtol=1e-4, atol=1e-6)


class ByteTokenizer:
    """A tokenizer with no merges: one id per UTF-8 byte."""

    def encode(self, text):
        return list(text.encode("utf-8"))

    def decode(self, ids):
        return bytes(ids).decode("utf-8", errors="replace")


class ByteLM(TinyLM):
    def __init__(self):
        super().__init__(V=256, d=8, context_length=6)


def test_write_greedy_is_the_prompt_then_the_greedy_continuation():
    torch.manual_seed(0)
    model, tok = ByteLM(), ByteTokenizer()
    prompt = "Mr. Darcy"  # 9 bytes, longer than the context of 6: the window must be cropped
    ids = torch.tensor([tok.encode(prompt)])
    for _ in range(5):
        with torch.no_grad():
            nxt = model(ids[:, -6:])[:, -1].argmax(-1)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    got = ex.write(model, tok, prompt, 5, temperature=0)
    assert isinstance(got, str), "write returns a str"
    assert got == tok.decode(ids[0].tolist()), (
        "write(temperature=0) returns the prompt followed by the 5 greedy tokens, decoded; the model sees "
        "only its last context_length tokens")


def test_write_samples_reproducibly_with_a_generator():
    torch.manual_seed(0)
    model, tok = ByteLM(), ByteTokenizer()
    a = ex.write(model, tok, "Eliza", 8, temperature=1.0, top_k=None, generator=torch.Generator().manual_seed(5))
    b = ex.write(model, tok, "Eliza", 8, temperature=1.0, top_k=None, generator=torch.Generator().manual_seed(5))
    assert a == b, "the same seeded generator gives the same sample"
    assert a.startswith("Eliza") and len(a.encode("utf-8", errors="replace")) >= len("Eliza"), (
        "the sample starts with the prompt")


# -- a short run on the book ---------------------------------------------------------------------

SHORT = dict(vocab_size=320, tokenizer_chars=40_000, context_length=32, d_model=64, n_heads=4, n_layers=2,
             batch_size=32, steps=360, max_lr=3e-3, min_lr=3e-4, warmup_steps=30, eval_every=120,
             sample_every=180, prompt="It is a truth", sample_tokens=40, seed=0)
MARGIN = 0.5  # nats per token below the unigram baseline; the reference gets 1.1-1.2 (seeds 0, 1, 2)


@contextmanager
def one_thread():
    """Small matrices gain nothing from a second thread, and on a machine whose cores are busy
    (a parallel test run) two threads that wait for each other made this run 20x slower. One
    thread also gives the same numbers on every machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_a_short_run_beats_the_unigram_baseline():
    text = CORPUS.read_text(encoding="utf-8")[:40_000]
    config = ex.PretrainConfig(**SHORT)
    events = []
    with one_thread():
        result = ex.pretrain(text, config, events.append)
        greedy = ex.write(result.model, result.tokenizer, config.prompt, config.sample_tokens, temperature=0)

    assert len(result.train_losses) == config.steps, "one training loss per step"
    assert abs(result.train_losses[0] - math.log(config.vocab_size)) < 0.3, (
        f"the first loss of a fresh GPT is about ln V = {math.log(config.vocab_size):.2f}; "
        f"got {result.train_losses[0]:.2f}")
    lrs = [e["lr"] for e in events if e.get("kind") == "step"]
    expected = [reference_lr(s, config.max_lr, config.warmup_steps, config.steps, config.min_lr)
                for s in range(config.steps)]
    assert_close(torch.tensor(lrs, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                 "step s reports the rate lr_at(s, max_lr, warmup_steps, steps, min_lr)")
    assert [s for s, _ in result.val_losses] == [120, 240, 360], (
        f"validation every eval_every = 120 steps; got it after steps {[s for s, _ in result.val_losses]}")
    assert [s for s, _ in result.samples] == [180, 360], (
        f"a sample every sample_every = 180 steps; got them after steps {[s for s, _ in result.samples]}")

    final = result.val_losses[-1][1]
    assert final < result.baseline - MARGIN, (
        f"after {config.steps} steps the validation loss ({final:.3f}) is at least {MARGIN} below the unigram "
        f"baseline ({result.baseline:.3f}): the model uses the context")

    sample = result.samples[-1][1]
    assert isinstance(sample, str) and sample.startswith(config.prompt), "a sample is text that starts with the prompt"
    assert len(sample) > len(config.prompt) and "\ufffd" not in sample, (
        f"the sample decodes to text after the prompt; got {sample!r}")
    known = set(re.findall(r"[a-z]{3,}", text.lower()))
    words = {w for s in (sample, greedy) for w in re.findall(r"[a-z]{3,}", s[len(config.prompt):].lower())}
    assert len(words & known) >= 3, (
        f"the samples continue with words of the book (3 different ones at least); got {sample!r} and, "
        f"greedily, {greedy!r}")
