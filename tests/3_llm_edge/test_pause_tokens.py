"""Checks for pause-tokens: inserting, appending and masking `<pause>` tokens."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("pause-tokens")

PAUSE = 99


class TinyCausalLM(nn.Module):
    """A one-layer causal transformer, enough to see what pauses do to logits."""

    def __init__(self, vocab=100, dim=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(64, dim)
        self.block = nn.TransformerEncoderLayer(dim, 4, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(dim, vocab)

    def forward(self, ids):
        T = ids.shape[-1]
        x = self.embed(ids) + self.pos(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        return self.head(self.block(x, src_mask=mask, is_causal=True))


def test_insert_keeps_every_token_in_order():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 50, (12,), generator=g)
    out = ex.insert_pauses(ids, PAUSE, 5, g)
    assert_equal(tuple(out.shape), (17,), "inserting n pauses makes the sequence n tokens longer")
    assert_equal(int((out == PAUSE).sum()), 5, "exactly n pause tokens are inserted")
    assert_equal(out[out != PAUSE], ids, "removing the pauses gives back the original tokens, in order")
    assert out.dtype == ids.dtype, "insert_pauses keeps the dtype of the ids"


def test_insert_more_pauses_than_tokens():
    ids = torch.tensor([4, 2])
    out = ex.insert_pauses(ids, PAUSE, 5, torch.Generator().manual_seed(2))
    assert_equal(out[out != PAUSE], ids, "with more pauses than tokens, the tokens still come through in order")
    assert_equal(int((out == PAUSE).sum()), 5, "all n pauses are there")


def test_insert_zero_pauses_is_identity():
    ids = torch.arange(7)
    assert_equal(ex.insert_pauses(ids, PAUSE, 0, torch.Generator().manual_seed(1)), ids,
                 "inserting 0 pauses returns the same tokens")


def test_insert_is_reproducible_with_a_seeded_generator():
    ids = torch.arange(20)
    a = ex.insert_pauses(ids, PAUSE, 6, torch.Generator().manual_seed(7))
    torch.randn(100)  # the global random stream moves on; a seeded generator must not care
    b = ex.insert_pauses(ids, PAUSE, 6, torch.Generator().manual_seed(7))
    assert_equal(a, b, "the same seeded generator gives the same pause positions")


def test_pause_positions_are_uniform_over_all_slots():
    T, n, draws = 6, 2, 3000
    g = torch.Generator().manual_seed(3)
    ids = torch.arange(T)
    counts = torch.zeros(T + n)
    for _ in range(draws):
        counts += (ex.insert_pauses(ids, PAUSE, n, g) == PAUSE).float()
    freq = counts / draws
    expected = torch.full((T + n,), n / (T + n))
    assert_close(freq, expected, "each of the T + n slots (first and last included) holds a pause "
                 "with probability n / (T + n)", atol=0.05, rtol=0)


def test_append_puts_m_pauses_after_the_prompt():
    ids = torch.arange(10).reshape(2, 5)
    out = ex.append_pauses(ids, PAUSE, 3)
    assert_equal(tuple(out.shape), (2, 8), "append_pauses makes (B, T) into (B, T + m)")
    assert_equal(out[:, :5], ids, "the prompt comes first, unchanged")
    assert_equal(out[:, 5:], torch.full((2, 3), PAUSE), "the last m tokens are pauses")
    assert_equal(ex.append_pauses(torch.arange(4), PAUSE, 2), torch.tensor([0, 1, 2, 3, PAUSE, PAUSE]),
                 "append_pauses works on a single (T,) sequence too")


def test_appended_pauses_do_not_change_earlier_logits():
    model = TinyCausalLM().eval()
    ids = torch.randint(0, 50, (2, 9))
    with torch.no_grad():
        before = model(ids)
        after = model(ex.append_pauses(ids, PAUSE, 4))
    assert_equal(tuple(after.shape), (2, 13, 100), "logits cover the prompt and the pauses")
    assert_close(after[:, :9], before, "in a causal model, pauses appended after the prompt leave the "
                 "prompt's logits unchanged", atol=1e-5, rtol=1e-5)


def test_mask_is_false_exactly_on_pauses():
    targets = torch.tensor([[5, PAUSE, 7], [PAUSE, PAUSE, 1]])
    mask = ex.pause_loss_mask(targets, PAUSE)
    assert mask.dtype == torch.bool, "pause_loss_mask returns a bool tensor"
    assert_equal(mask, torch.tensor([[True, False, True], [False, False, True]]),
                 "the mask is True for real targets and False for pause targets")


def test_loss_terms_on_pauses_are_ignored():
    g = torch.Generator().manual_seed(4)
    ids = ex.insert_pauses(torch.randint(0, 50, (30,), generator=g), PAUSE, 10, g)
    inputs, targets = ids[:-1], ids[1:]
    logits = torch.randn(inputs.shape[0], 100, generator=g)
    mask = ex.pause_loss_mask(targets, PAUSE)
    per_token = F.cross_entropy(logits, targets, reduction="none")
    masked = (per_token * mask).sum() / mask.sum()
    expected = F.cross_entropy(logits, targets.masked_fill(targets == PAUSE, -100), ignore_index=-100)
    assert_close(masked, expected, "the masked mean loss equals cross-entropy that ignores pause targets")

    shuffled = logits.clone()
    shuffled[~mask] = torch.randn(int((~mask).sum()), 100, generator=g)
    per_token2 = F.cross_entropy(shuffled, targets, reduction="none")
    assert_close((per_token2 * mask).sum() / mask.sum(), masked,
                 "what the model predicts where the target is a pause does not change the loss")
