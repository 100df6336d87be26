"""Checks for instruction-masking: collating prompt/response pairs and the masked mean loss. Every call
hands the learner copies of its inputs (support/untouched.py)."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("instruction-masking")
untouched = retreat.load_support("untouched")

EOS = 2  # end-of-text id of the toy vocabulary; also used as the pad id, as GPT-2 setups often do
IGN = -100


def example_batch():
    return [{"prompt": [5, 6, 7], "response": [8, 9]}, {"prompt": [5], "response": [3, 4, 2]}]


def random_batch(g, B=4, V=30):
    batch = []
    for _ in range(B):
        p = torch.randint(3, V, (int(torch.randint(1, 6, (1,), generator=g)),), generator=g).tolist()
        r = torch.randint(3, V, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g).tolist() + [EOS]
        batch.append({"prompt": p, "response": r})
    return batch


# --- collate -----------------------------------------------------------------------------------

def test_worked_example_with_the_prompt_masked():
    inputs, targets = untouched.call(ex.collate, example_batch(), pad_id=0)
    assert_equal(inputs, torch.tensor([[5, 6, 7, 8], [5, 3, 4, 0]]),
                 "inputs are prompt + response without its last token, right-padded with pad_id")
    assert_equal(targets, torch.tensor([[IGN, IGN, 8, 9], [3, 4, 2, IGN]]),
                 "targets are shifted by one; prompt targets and padding are -100")


def test_worked_example_without_prompt_masking():
    _, targets = untouched.call(ex.collate, example_batch(), pad_id=0, mask_prompt=False)
    assert_equal(targets, torch.tensor([[6, 7, 8, 9], [3, 4, 2, IGN]]),
                 "with mask_prompt=False only the padding is ignored")


def test_outputs_are_long_tensors_of_the_longest_length():
    inputs, targets = untouched.call(ex.collate, example_batch(), pad_id=0)
    assert inputs.dtype == torch.long and targets.dtype == torch.long, "inputs and targets are LongTensors"
    assert inputs.shape == targets.shape == (2, 4), "both are (B, longest prompt + response - 1)"


def test_targets_are_the_inputs_shifted_by_one():
    batch = random_batch(torch.Generator().manual_seed(0))
    inputs, targets = untouched.call(ex.collate, batch, pad_id=EOS, mask_prompt=False)
    for b, item in enumerate(batch):
        n = len(item["prompt"]) + len(item["response"]) - 1
        assert_equal(targets[b, : n - 1], inputs[b, 1:n], f"row {b}: targets[t] == inputs[t + 1] inside the text")
        assert_equal(int(targets[b, n - 1]), EOS, f"row {b}: the last target is the response's last token")


def test_only_response_tokens_are_learned():
    batch = random_batch(torch.Generator().manual_seed(1))
    _, targets = untouched.call(ex.collate, batch, pad_id=EOS)
    for b, item in enumerate(batch):
        kept = targets[b][targets[b] != IGN]
        assert_equal(kept.tolist(), item["response"],
                     f"row {b}: the targets that are not -100 are exactly the response, in order")


def test_a_pad_id_that_is_a_real_token_is_still_learned():
    batch = [{"prompt": [4], "response": [7, EOS]}, {"prompt": [4, 5, 6], "response": [8, 9, 7, EOS]}]
    inputs, targets = untouched.call(ex.collate, batch, pad_id=EOS)
    assert_equal(inputs[0].tolist(), [4, 7, EOS, EOS, EOS, EOS], "inputs are padded with pad_id")
    assert_equal(targets.tolist(), [[7, EOS, IGN, IGN, IGN, IGN], [IGN, IGN, 8, 9, 7, EOS]],
                 "pad_id == end-of-text: the real end-of-text targets are kept (find padding by position)")


def test_a_custom_ignore_index_is_used():
    _, targets = untouched.call(ex.collate, example_batch(), pad_id=0, ignore_index=-1)
    assert_equal(targets, torch.tensor([[-1, -1, 8, 9], [3, 4, 2, -1]]), "ignore_index=-1 replaces -100 everywhere")


# --- the masked loss ---------------------------------------------------------------------------

def test_masked_mean_equals_cross_entropy_with_ignore_index():
    logits = torch.randn(3, 7, 11)
    targets = torch.randint(0, 11, (3, 7))
    targets[torch.rand(3, 7) < 0.4] = IGN
    assert_close(untouched.call(ex.masked_cross_entropy, logits, targets),
                 F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGN),
                 "masked mean equals F.cross_entropy(ignore_index=-100)")


def test_masked_mean_with_another_ignore_index():
    logits = torch.randn(2, 5, 6)
    targets = torch.randint(0, 6, (2, 5))
    targets[:, :2] = -1
    assert_close(untouched.call(ex.masked_cross_entropy, logits, targets, ignore_index=-1),
                 F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1),
                 "masked mean equals F.cross_entropy(ignore_index=-1)")


def test_logits_at_ignored_positions_do_not_matter():
    logits = torch.randn(2, 6, 9, requires_grad=True)
    targets = torch.randint(0, 9, (2, 6))
    targets[:, :3] = IGN
    loss = ex.masked_cross_entropy(logits, targets.clone())  # the learner gets its own targets
    loss.backward()
    assert_close(logits.grad[:, :3], torch.zeros(2, 3, 9), "ignored positions get zero gradient")
    changed = logits.detach().clone()
    changed[:, :3] = 100 * torch.randn(2, 3, 9)
    assert_close(untouched.call(ex.masked_cross_entropy, changed, targets), loss.detach(),
                 "changing the logits at ignored positions does not change the loss")


def test_extra_padding_does_not_change_the_loss():
    logits, targets = torch.randn(2, 5, 8), torch.randint(0, 8, (2, 5))
    padded_logits = torch.cat([logits, torch.randn(2, 4, 8)], dim=1)
    padded_targets = torch.cat([targets, torch.full((2, 4), IGN)], dim=1)
    assert_close(untouched.call(ex.masked_cross_entropy, padded_logits, padded_targets),
                 untouched.call(ex.masked_cross_entropy, logits, targets),
                 "padding (targets -100) does not change the mean: divide by the kept count, not by B*T")


def test_collate_and_loss_average_over_response_tokens_only():
    batch = random_batch(torch.Generator().manual_seed(2), V=12)
    inputs, targets = untouched.call(ex.collate, batch, pad_id=EOS)
    logits = torch.randn(*inputs.shape, 30)
    log_probs = logits.log_softmax(-1)
    terms = []
    for b, item in enumerate(batch):
        start = len(item["prompt"]) - 1  # position whose target is the first response token
        for j, token in enumerate(item["response"]):
            terms.append(-log_probs[b, start + j, token])
    assert_close(untouched.call(ex.masked_cross_entropy, logits, targets), torch.stack(terms).mean(),
                 "collate + masked loss = mean negative log-probability of the response tokens")


def test_every_target_ignored_gives_nan_like_torch():
    logits, targets = torch.randn(2, 4, 7), torch.full((2, 4), IGN)
    out = untouched.call(ex.masked_cross_entropy, logits, targets)
    assert out.shape == () and bool(torch.isnan(out)), (
        f"with every target ignored there is nothing to average: NaN (0 / 0), as F.cross_entropy gives; got {out}")
