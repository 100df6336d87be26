"""Checks for decoding: temperature, top-k, sampling and the generation loop, on tiny models built here.
Every call hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn as nn

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("decoding")
untouched = retreat.load_support("untouched")

V = 13  # vocabulary size of the toy models


class TinyCausalLM(nn.Module):
    """A one-layer transformer from torch.nn: ids (B, T) -> logits (B, T, V), causal, learned positions.

    Its position table has `context_length` rows, so a longer input raises an IndexError.
    """

    def __init__(self, context_length: int = 8, d: int = 16):
        super().__init__()
        self.tok = nn.Embedding(V, d)
        self.pos = nn.Embedding(context_length, d)
        self.block = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, V)
        self.calls = []  # (input ids, training, grad_enabled) of each forward

    def forward(self, ids):
        self.calls.append((ids.clone(), self.training, torch.is_grad_enabled()))
        T = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        return self.head(self.block(x, src_mask=mask, is_causal=True))  # (B, T, V)


def reference_greedy(model, ids, n, context_length=None):
    for _ in range(n):
        window = ids if context_length is None else ids[:, -context_length:]
        with torch.no_grad():
            nxt = model(window)[:, -1].argmax(-1)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    return ids


def entropy(logits):
    p = logits.softmax(-1)
    return -(p * p.log()).sum(-1)


# --- temperature -------------------------------------------------------------------------------

def test_temperature_divides_the_logits():
    logits = torch.randn(4, V)
    assert_close(untouched.call(ex.apply_temperature, logits, 0.5), logits / 0.5,
                 "temperature 0.5 doubles the logits (logits / t)")
    assert_close(untouched.call(ex.apply_temperature, logits, 2.0), logits / 2.0,
                 "temperature 2 halves the logits (logits / t)")


def test_low_temperature_sharpens_and_high_temperature_flattens():
    logits = torch.randn(V)
    cold = entropy(untouched.call(ex.apply_temperature, logits, 0.5))
    warm = entropy(untouched.call(ex.apply_temperature, logits, 2.0))
    assert cold < entropy(logits) < warm, "t < 1 lowers the entropy of the distribution, t > 1 raises it"


# --- top-k -------------------------------------------------------------------------------------

def test_top_k_keeps_exactly_the_k_largest_logits():
    logits = torch.randn(3, 4, 20)
    out = untouched.call(ex.top_k_filter, logits, 5)
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, logits.topk(5, dim=-1).indices, True)
    assert_equal(torch.isfinite(out), keep, "the kept entries are the 5 largest of each row (torch.topk)")
    assert_equal(out[keep], logits[keep], "kept logits are unchanged")


def test_filtered_entries_are_minus_infinity():
    logits = torch.randn(2, V)
    out = untouched.call(ex.top_k_filter, logits, 3)
    removed = out[~torch.isfinite(out)]
    assert removed.numel() == 2 * (V - 3), "top-k removes V - k entries per row"
    assert bool(torch.isneginf(removed).all()), "removed entries are -inf, so softmax gives them probability 0"


def test_top_k_with_k_at_least_vocab_keeps_everything():
    logits = torch.randn(2, V)
    assert_equal(untouched.call(ex.top_k_filter, logits, V), logits, "k = V removes nothing")
    assert_equal(untouched.call(ex.top_k_filter, logits, V + 5), logits, "k > V removes nothing")


def test_top_k_leaves_its_input_alone():
    logits = torch.randn(2, V)
    before = logits.clone()
    untouched.call(ex.top_k_filter, logits, 2)
    assert_equal(logits, before, "top_k_filter returns a new tensor and does not modify its input")


# --- sampling ----------------------------------------------------------------------------------

def test_top_k_of_one_equals_greedy():
    logits = torch.randn(50, V)
    got = untouched.call(ex.sample, logits, temperature=1.5, top_k=1, generator=torch.Generator().manual_seed(0))
    assert_equal(got, logits.argmax(-1), "sampling with top_k=1 always picks the argmax")


def test_temperature_zero_is_greedy():
    logits = torch.randn(50, V)
    assert_equal(untouched.call(ex.sample, logits, temperature=0.0), logits.argmax(-1),
                 "temperature 0 picks the argmax")


def test_sample_returns_one_id_per_row():
    out = untouched.call(ex.sample, torch.randn(7, V), generator=torch.Generator().manual_seed(0))
    assert out.shape == (7,) and out.dtype == torch.long, \
        f"sample gives a LongTensor (B,), got {out.dtype} {tuple(out.shape)}"


def test_sampling_frequencies_follow_the_tempered_softmax():
    logits = torch.randn(6)
    draws = untouched.call(ex.sample, logits.expand(20000, 6), temperature=0.7,
                           generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(draws, minlength=6).float() / 20000
    assert_close(freq, (logits / 0.7).softmax(-1), "over 20000 draws, token frequencies match softmax(logits / t)",
                 atol=0.015, rtol=0.0)


def test_top_k_sampling_renormalises_over_the_kept_tokens():
    logits = torch.randn(8)
    draws = untouched.call(ex.sample, logits.expand(20000, 8), top_k=3, generator=torch.Generator().manual_seed(2))
    freq = torch.bincount(draws, minlength=8).float() / 20000
    expected = torch.full((8,), float("-inf"))
    top = logits.topk(3).indices
    expected[top] = logits[top]
    assert_close(freq, expected.softmax(-1),
                 "top-k sampling draws only the k best tokens, in proportion to their renormalised probabilities",
                 atol=0.015, rtol=0.0)


def test_seeded_sampling_is_reproducible():
    logits = torch.randn(500, V)
    first = untouched.call(ex.sample, logits, generator=torch.Generator().manual_seed(42))
    torch.manual_seed(1234)  # the global random stream must not matter
    again = untouched.call(ex.sample, logits, generator=torch.Generator().manual_seed(42))
    other = untouched.call(ex.sample, logits, generator=torch.Generator().manual_seed(43))
    assert_equal(again, first, "the same generator seed gives the same samples (draw from `generator`)")
    assert not torch.equal(other, first), "another seed gives other samples"


# --- generation --------------------------------------------------------------------------------

def test_generate_appends_tokens_and_keeps_the_prompt():
    model, prompt = TinyCausalLM(), torch.randint(0, V, (3, 4))
    out = untouched.call(ex.generate, model, prompt, 4, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 8), f"generate returns (B, T + max_new_tokens) = (3, 8), got {tuple(out.shape)}"
    assert_equal(out[:, :4], prompt, "the prompt is returned unchanged as the first T columns")


def test_greedy_generation_matches_a_step_by_step_argmax():
    model, prompt = TinyCausalLM(), torch.randint(0, V, (2, 3))
    expected = reference_greedy(model, prompt, 5)
    assert_equal(untouched.call(ex.generate, model, prompt, 5, temperature=0.0), expected,
                 "greedy generation picks the argmax of the LAST position's logits at every step")


def test_generate_crops_to_the_last_context_length_tokens():
    model, prompt = TinyCausalLM(context_length=4), torch.randint(0, V, (2, 3))
    expected = reference_greedy(model, prompt, 6, context_length=4)
    model.calls.clear()
    out = untouched.call(ex.generate, model, prompt, 6, temperature=0.0, context_length=4)
    assert all(ids.shape[1] <= 4 for ids, _, _ in model.calls), "the model never sees more than context_length tokens"
    assert_equal(out, expected, "each step feeds the model the LAST context_length tokens")


def test_seeded_generation_is_reproducible():
    model, prompt = TinyCausalLM(), torch.randint(0, V, (2, 2))
    a = untouched.call(ex.generate, model, prompt, 6, top_k=5, generator=torch.Generator().manual_seed(7))
    b = untouched.call(ex.generate, model, prompt, 6, top_k=5, generator=torch.Generator().manual_seed(7))
    assert_equal(a, b, "the same seed generates the same tokens")


def test_generate_runs_in_eval_mode_without_gradients():
    model = TinyCausalLM()
    model.train()
    out = untouched.call(ex.generate, model, torch.randint(0, V, (1, 2)), 3, generator=torch.Generator().manual_seed(0))
    assert not out.requires_grad, "generated ids carry no autograd graph"
    assert not any(training or grad for _, training, grad in model.calls), \
        "the model runs in eval mode under torch.no_grad() during generation"
    assert model.training, "generate puts the model back in training mode afterwards"


def test_top_k_keeps_every_logit_tied_with_the_kth():
    logits = torch.tensor([[5.0, 3.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 7.0, 7.0, 7.0]])
    expected = torch.tensor([[5.0, 3.0, 3.0, -torch.inf], [2.0, 2.0, 2.0, 2.0], [-torch.inf, 7.0, 7.0, 7.0]])
    assert_equal(untouched.call(ex.top_k_filter, logits, 2), expected,
                 "entries equal to the k-th largest value are all kept (k=2 keeps 5, 3, 3 of [5, 3, 3, 1])")


def test_a_batch_of_one_row_stays_a_batch():
    logits = torch.randn(1, V)
    g = torch.Generator().manual_seed(0)
    for kwargs in ({"temperature": 0.0}, {"temperature": 1.0, "generator": g}, {"top_k": 3, "generator": g}):
        out = untouched.call(ex.sample, logits, **kwargs)
        assert out.shape == (1,), f"sample of (1, V) logits returns shape (1,) ({kwargs}); got {tuple(out.shape)}"
