"""Checks for classification-finetune: last-token pooling, the head, freezing and parameter counts.
Every call hands the learner copies of its inputs (support/untouched.py)."""

import pytest
import torch
import torch.nn as nn

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("classification-finetune")
untouched = retreat.load_support("untouched")

V, D = 17, 8


class CausalBackbone(nn.Module):
    """ids (B, T) -> hidden states (B, T, D) with one causal transformer layer from torch.nn."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.block = nn.TransformerEncoderLayer(D, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)

    def forward(self, ids):
        mask = nn.Transformer.generate_square_subsequent_mask(ids.shape[1])
        return self.block(self.embed(ids), src_mask=mask, is_causal=True)


class Stack(nn.Module):
    """Twelve small blocks, so that the names "blocks.1", "blocks.10" and "blocks.11" all exist."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, 4)
        self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(12))
        self.head = nn.Linear(4, 2)

    def forward(self, ids):
        x = self.embed(ids)
        for block in self.blocks:
            x = torch.tanh(block(x))
        return self.head(x[:, -1])


def trainable_names(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


# --- pooling and the head ----------------------------------------------------------------------

def test_pool_picks_the_last_real_token_with_right_padding():
    hidden = torch.randn(3, 6, D)
    lengths = torch.tensor([6, 2, 4])
    mask = (torch.arange(6) < lengths[:, None]).long()  # 1 1 0 0 0 0 for length 2
    expected = torch.stack([hidden[b, lengths[b] - 1] for b in range(3)])
    assert_close(untouched.call(ex.last_token_pool, hidden, mask), expected,
                 "row b is the hidden state at position length_b - 1, the last real token")


def test_pool_picks_the_last_real_token_with_left_padding():
    hidden = torch.randn(2, 5, D)
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]).bool()
    assert_close(untouched.call(ex.last_token_pool, hidden, mask), hidden[:, -1],
                 "with left padding the last real token is at position T - 1")


def test_pool_without_a_mask_takes_the_last_position():
    hidden = torch.randn(2, 5, D)
    assert_close(untouched.call(ex.last_token_pool, hidden), hidden[:, -1],
                 "without a mask, pooling takes position T - 1")


def test_head_is_a_linear_layer_on_the_pooled_state():
    head = ex.ClassifierHead(D, 3)
    assert isinstance(head.proj, nn.Linear), "ClassifierHead keeps its linear layer in `self.proj`"
    hidden, mask = torch.randn(2, 5, D), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    expected = head.proj(torch.stack([hidden[0, 2], hidden[1, 4]]))
    assert_close(untouched.call(head, hidden, mask), expected, "logits are proj(hidden state of the last real token)")


def test_padding_does_not_change_the_prediction():
    backbone, head = CausalBackbone(), ex.ClassifierHead(D, 2)
    ids = torch.randint(0, V, (1, 4))
    alone = untouched.call(head, backbone(ids))
    padded = torch.cat([ids, torch.randint(0, V, (1, 3))], dim=1)  # three pad tokens of any id
    mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0]])
    assert_close(untouched.call(head, backbone(padded), mask), alone,
                 "a causal model's prediction for a right-padded sequence equals the unpadded one")


def test_the_last_real_token_decides_and_earlier_ones_matter_too():
    backbone, head = CausalBackbone(), ex.ClassifierHead(D, 2)
    ids = torch.randint(0, V, (1, 6))
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    base = untouched.call(head, backbone(ids), mask)
    changed_first = ids.clone()
    changed_first[0, 0] = (ids[0, 0] + 1) % V
    assert not torch.allclose(untouched.call(head, backbone(changed_first), mask), base), \
        "the pooled state has seen the whole sequence, so changing its first token changes the logits"
    changed_pad = ids.clone()
    changed_pad[0, 5] = (ids[0, 5] + 1) % V
    assert_close(untouched.call(head, backbone(changed_pad), mask), base, "changing a pad token changes nothing")


# --- freezing ----------------------------------------------------------------------------------

def test_only_the_named_submodules_stay_trainable():
    model = Stack()
    ex.freeze_all_but(model, ["head", "blocks.1"])
    expected = {"head.weight", "head.bias", "blocks.1.weight", "blocks.1.bias"}
    assert_equal(trainable_names(model), expected,
                 "only head and blocks.1 are trainable ('blocks.1' does not cover 'blocks.10' or 'blocks.11')")


def test_a_single_parameter_can_be_named():
    model = Stack()
    ex.freeze_all_but(model, ["head.bias"])
    assert_equal(trainable_names(model), {"head.bias"}, "a full parameter name unfreezes just that parameter")


def test_freezing_again_unfreezes_the_newly_named_parts():
    model = Stack()
    ex.freeze_all_but(model, ["head"])
    ex.freeze_all_but(model, ["blocks.0"])
    assert_equal(trainable_names(model), {"blocks.0.weight", "blocks.0.bias"},
                 "a second call makes exactly the newly named parameters trainable, even if frozen before")


def test_an_unknown_name_is_an_error():
    with pytest.raises(ValueError):
        ex.freeze_all_but(Stack(), ["haed"])


def test_training_after_freezing_only_moves_the_trainable_parameters():
    model = Stack()
    ex.freeze_all_but(model, ["head"])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss = nn.functional.cross_entropy(model(torch.randint(0, V, (4, 3))), torch.tensor([0, 1, 1, 0]))
    loss.backward()
    with torch.no_grad():  # one plain SGD step on whatever received a gradient
        for p in model.parameters():
            if p.grad is not None:
                p -= 0.5 * p.grad
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert_equal(moved, {"head.weight", "head.bias"}, "after a training step only the head has changed")
    assert model.blocks[0].weight.grad is None, "frozen parameters receive no gradient"


# --- counting ----------------------------------------------------------------------------------

def test_count_trainable_matches_the_trainable_parameters():
    model = Stack()
    total = V * 4 + 12 * (4 * 4 + 4) + (4 * 2 + 2)
    assert_equal(ex.count_trainable(model), total, "an unfrozen model: every parameter counts")
    ex.freeze_all_but(model, ["head", "blocks.11"])
    assert_equal(ex.count_trainable(model), (4 * 2 + 2) + (4 * 4 + 4),
                 "after freezing: only head (10) and blocks.11 (20) count")


def test_a_classifier_on_a_frozen_backbone_trains_few_parameters():
    model = nn.ModuleDict({"backbone": CausalBackbone(), "head": ex.ClassifierHead(D, 2)})
    ex.freeze_all_but(model, ["head"])
    assert_equal(ex.count_trainable(model), D * 2 + 2, "a frozen backbone with a 2-class head trains D*2 + 2 numbers")


def test_a_batch_of_one_sequence_stays_a_batch():
    hidden = torch.randn(1, 6, D)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0]])
    pooled = untouched.call(ex.last_token_pool, hidden, mask)
    assert pooled.shape == (1, D), f"pooling a batch of one gives shape (1, C) = (1, {D}); got {tuple(pooled.shape)}"
    assert_close(pooled, hidden[:, 2], "row 0 is the hidden state of the last real token, position 2")


def test_a_tied_weight_is_counted_once():
    model = nn.ModuleDict({"embed": nn.Embedding(V, D), "out": nn.Linear(D, V, bias=False)})
    model["out"].weight = model["embed"].weight  # weight tying, as GPT-2's head
    assert_equal(ex.count_trainable(model), V * D, "a weight shared by two modules is one tensor: counted once")
