"""Checks for pause-tokens: inserting, appending and masking `<pause>` tokens, the [prompt, pauses,
answer] batch, and the experiment that compares training with and without pauses. The learner's
code always gets clones of the inputs; the expected values are computed from the untouched
originals."""

import itertools

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
    out = ex.insert_pauses(ids.clone(), PAUSE, 5, g)
    assert_equal(tuple(out.shape), (17,), "inserting n pauses makes the sequence n tokens longer")
    assert_equal(int((out == PAUSE).sum()), 5, "exactly n pause tokens are inserted")
    assert_equal(out[out != PAUSE], ids, "removing the pauses gives back the original tokens, in order")
    assert out.dtype == ids.dtype, "insert_pauses keeps the dtype of the ids"


def test_insert_more_pauses_than_tokens():
    ids = torch.tensor([4, 2])
    out = ex.insert_pauses(ids.clone(), PAUSE, 5, torch.Generator().manual_seed(2))
    assert_equal(out[out != PAUSE], ids, "with more pauses than tokens, the tokens still come through in order")
    assert_equal(int((out == PAUSE).sum()), 5, "all n pauses are there")


def test_insert_zero_pauses_is_identity():
    ids = torch.arange(7)
    assert_equal(ex.insert_pauses(ids.clone(), PAUSE, 0, torch.Generator().manual_seed(1)), ids,
                 "inserting 0 pauses returns the same tokens")


def test_insert_is_reproducible_with_a_seeded_generator():
    ids = torch.arange(20)
    a = ex.insert_pauses(ids.clone(), PAUSE, 6, torch.Generator().manual_seed(7))
    torch.randn(100)  # the global random stream moves on; a seeded generator must not care
    b = ex.insert_pauses(ids.clone(), PAUSE, 6, torch.Generator().manual_seed(7))
    assert_equal(a, b, "the same seeded generator gives the same pause positions")


def test_pause_positions_are_uniform_over_all_slots():
    T, n, draws = 6, 2, 3000
    g = torch.Generator().manual_seed(3)
    ids = torch.arange(T)
    counts = torch.zeros(T + n)
    for _ in range(draws):
        counts += (ex.insert_pauses(ids.clone(), PAUSE, n, g) == PAUSE).float()
    freq = counts / draws
    expected = torch.full((T + n,), n / (T + n))
    assert_close(freq, expected, "each of the T + n slots (first and last included) holds a pause "
                 "with probability n / (T + n)", atol=0.05, rtol=0)


def test_every_arrangement_of_pauses_is_equally_likely():
    # Uniform per slot is not enough: all C(T + n, n) placements must be equally likely.
    T, n, draws = 3, 2, 4000
    g = torch.Generator().manual_seed(11)
    ids = torch.arange(T)
    arrangements = list(itertools.combinations(range(T + n), n))
    counts = dict.fromkeys(arrangements, 0)
    for _ in range(draws):
        out = ex.insert_pauses(ids.clone(), PAUSE, n, g)
        counts[tuple(torch.nonzero(out == PAUSE).flatten().tolist())] += 1
    freq = torch.tensor([counts[a] / draws for a in arrangements])
    assert_close(freq, torch.full((len(arrangements),), 1 / len(arrangements)),
                 f"each of the C({T + n}, {n}) = {len(arrangements)} placements of the pauses is equally "
                 "likely (two pauses side by side as often as any other placement)", atol=0.025, rtol=0)


def test_append_puts_m_pauses_after_the_prompt():
    ids = torch.arange(10).reshape(2, 5)
    out = ex.append_pauses(ids.clone(), PAUSE, 3)
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
        after = model(ex.append_pauses(ids.clone(), PAUSE, 4))
    assert_equal(tuple(after.shape), (2, 13, 100), "logits cover the prompt and the pauses")
    assert_close(after[:, :9], before, "in a causal model, pauses appended after the prompt leave the "
                 "prompt's logits unchanged", atol=1e-5, rtol=1e-5)


def test_mask_is_false_exactly_on_pauses():
    targets = torch.tensor([[5, PAUSE, 7], [PAUSE, PAUSE, 1]])
    mask = ex.pause_loss_mask(targets.clone(), PAUSE)
    assert mask.dtype == torch.bool, "pause_loss_mask returns a bool tensor"
    assert_equal(mask, torch.tensor([[True, False, True], [False, False, True]]),
                 "the mask is True for real targets and False for pause targets")


def test_loss_terms_on_pauses_are_ignored():
    g = torch.Generator().manual_seed(4)
    ids = ex.insert_pauses(torch.randint(0, 50, (30,), generator=g), PAUSE, 10, g)
    inputs, targets = ids[:-1], ids[1:]
    logits = torch.randn(inputs.shape[0], 100, generator=g)
    mask = ex.pause_loss_mask(targets.clone(), PAUSE)
    per_token = F.cross_entropy(logits, targets, reduction="none")
    masked = (per_token * mask).sum() / mask.sum()
    expected = F.cross_entropy(logits, targets.masked_fill(targets == PAUSE, -100), ignore_index=-100)
    assert_close(masked, expected, "the masked mean loss equals cross-entropy that ignores pause targets")

    shuffled = logits.clone()
    shuffled[~mask] = torch.randn(int((~mask).sum()), 100, generator=g)
    per_token2 = F.cross_entropy(shuffled, targets, reduction="none")
    assert_close((per_token2 * mask).sum() / mask.sum(), masked,
                 "what the model predicts where the target is a pause does not change the loss")


# ---- [prompt, pauses, answer] --------------------------------------------------------------------

def test_pause_batch_lays_out_prompt_pauses_answer():
    prompts = torch.tensor([[3, 1, 4], [1, 5, 9]])
    answers = torch.tensor([70, 71])
    inputs, targets, mask = ex.pause_batch(prompts.clone(), answers.clone(), PAUSE, 2)
    assert_equal(inputs, torch.tensor([[3, 1, 4, PAUSE, PAUSE], [1, 5, 9, PAUSE, PAUSE]]),
                 "inputs are the prompt then the pauses (the sequence without its last token)")
    assert_equal(targets, torch.tensor([[1, 4, PAUSE, PAUSE, 70], [5, 9, PAUSE, PAUSE, 71]]),
                 "targets are the sequence [prompt, pauses, answer] shifted by one")
    expected = torch.tensor([[False, False, False, False, True]] * 2)
    assert_equal(mask, expected, "the loss counts only the last position, whose target is the answer: "
                 "never a pause target, never a prompt target")
    inputs, targets, mask = ex.pause_batch(prompts.clone(), answers.clone(), PAUSE, 0)
    assert_equal(inputs, prompts, "with no pauses the inputs are the prompt")
    assert_equal(mask, torch.tensor([[False, False, True]] * 2), "with no pauses only the answer counts")


def test_pause_batch_leaves_its_inputs_unchanged():
    prompts, answers = torch.randint(0, 10, (4, 6)), torch.randint(10, 20, (4,))
    given = (prompts.clone(), answers.clone())
    ex.pause_batch(*given, PAUSE, 3)
    assert_equal(given[0], prompts, "pause_batch never writes into the prompts")
    assert_equal(given[1], answers, "pause_batch never writes into the answers")


def test_the_experiment_runs_and_reports_both_accuracies():
    # Two training steps only: this checks the harness (with your helpers), not who wins; the notes
    # give the measured numbers of the full run. Budget: a few seconds (it builds and trains models).
    calls = []
    original = ex.pause_batch

    def spy(prompts, answers, pause_id, n_pauses):
        calls.append(n_pauses)
        return original(prompts, answers, pause_id, n_pauses)

    ex.pause_batch = spy
    try:
        result = ex.pause_experiment(n_pauses=4, steps=2, seed=1, eval_size=32)
    finally:
        ex.pause_batch = original
    assert set(result) == {"no_pauses", "pauses"}, f"the experiment reports both numbers, got {sorted(result)}"
    for name, accuracy in result.items():
        assert isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0, f"{name} is an accuracy in [0, 1]"
    assert 0 in calls and 4 in calls, "the same training runs once without pauses and once with 4 of them"
    again = ex.train_and_evaluate(0, steps=2, seed=1, eval_size=32)
    assert again == result["no_pauses"], "the experiment is seeded: the same arguments give the same numbers"
