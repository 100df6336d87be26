"""Checks for attention-probing: scores on hand-built attention maps with known answers, maps that
reproduce each layer's output, hooks that never outlive a call, and the induction circuit of a
trained model (support/induction.py), confirmed by ablation. The first test that needs the trained
model trains it (about 10 s, once); every other test takes well under 2 s. Every call hands the
learner copies of its inputs (support/untouched.py)."""

import copy

import pytest
import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("attention-probing")
untouched = retreat.load_support("untouched")
induction = retreat.load_support("induction")


def causal_uniform(T):
    """Every query spreads its weight evenly over the keys it may see."""
    w = torch.ones(T, T).tril()
    return w / w.sum(dim=-1, keepdim=True)


def pointing(T, targets):
    """A map whose row t puts all its weight on key targets[t] (targets[t] <= t)."""
    w = torch.zeros(T, T)
    w[torch.arange(T), torch.tensor(targets)] = 1.0
    return w


def untrained_model():
    with torch.random.fork_rng():
        torch.manual_seed(5)
        return induction.AttentionOnly()


class BodyFailed(Exception):
    """Raised inside a with block (not a RuntimeError, which NotImplementedError would match)."""


def hooks_left(model):
    return [name for name, m in model.named_modules() if m._forward_pre_hooks or m._forward_hooks]


# --- scores on hand-built maps -----------------------------------------------------------------

def test_previous_token_score_on_known_maps():
    T = 5
    heads = torch.stack([pointing(T, [0, 0, 1, 2, 3]), torch.eye(T), causal_uniform(T)])  # (H, T, T)
    attn = heads.expand(2, 3, T, T)
    uniform = sum(1 / (t + 1) for t in range(1, T)) / (T - 1)
    assert_close(untouched.call(ex.previous_token_score, attn), torch.tensor([1.0, 0.0, uniform]),
                 "previous_token_score: 1 for a head that always looks one step back, 0 for one that looks at "
                 "itself, the mean of 1/(t+1) over t >= 1 for a uniform head")


def test_induction_score_on_known_maps():
    ids = torch.tensor([[3, 5, 7, 3, 5, 7]])  # t = 3, 4, 5 have earlier copies at s = 0, 1, 2
    heads = torch.stack([
        pointing(6, [0, 1, 2, 1, 2, 3]),  # induction: t attends to s + 1
        pointing(6, [0, 0, 1, 2, 3, 4]),  # previous token
        pointing(6, [0, 1, 2, 0, 1, 2]),  # the earlier copy itself (a duplicate-token head)
        causal_uniform(6),
    ])[None]
    expected = torch.tensor([1.0, 0.0, 0.0, (1 / 4 + 1 / 5 + 1 / 6) / 3])
    assert_close(untouched.call(ex.induction_score, heads, ids), expected,
                 "induction_score: 1 for a head attending to the token AFTER the earlier copy, 0 for a "
                 "previous-token head and for one attending to the copy itself, the mean weight otherwise")


def test_induction_target_follows_the_most_recent_copy():
    ids = torch.tensor([[4, 1, 4, 2, 4]])  # t = 2: s = 0 -> target 1; t = 4: s = 2 (not 0) -> target 3
    recent = pointing(5, [0, 1, 1, 3, 3])
    oldest = pointing(5, [0, 1, 1, 3, 1])
    attn = torch.stack([recent, oldest])[None]
    assert_close(untouched.call(ex.induction_score, attn, ids), torch.tensor([1.0, 0.5]),
                 "the induction target is the token after the MOST RECENT earlier occurrence")


def test_positions_without_an_earlier_copy_are_left_out():
    ids = torch.tensor([[1, 2, 3, 1, 9, 8], [5, 6, 5, 6, 5, 6]])  # 1 valid position, then 4
    attn = torch.stack([pointing(6, [0, 1, 2, 1, 4, 5]),  # row 0: the one valid position hits
                        pointing(6, [0, 1, 2, 3, 4, 5])])[:, None]  # row 1: no valid position hits
    assert_close(untouched.call(ex.induction_score, attn, ids), torch.tensor([1 / 5]),
                 "the score is the mean over every (sequence, position) with an earlier copy: 1 hit of 5")
    with pytest.raises(ValueError):
        untouched.call(ex.induction_score, causal_uniform(4)[None, None], torch.tensor([[1, 2, 3, 4]]))


def test_find_head_takes_the_first_of_equal_scores():
    scores = [torch.tensor([0.2, 0.9]), torch.tensor([0.9])]
    assert_equal(untouched.call(ex.find_head, scores), (0, 1),
                 "find_head returns (layer, head) of the highest score; ties go to the earlier layer")
    assert_equal(untouched.call(ex.find_head, [torch.tensor([0.1, 0.3]), torch.tensor([0.7])]), (1, 0),
                 "find_head looks at every layer")


# --- maps and hooks on a model -----------------------------------------------------------------

def test_attention_maps_reproduce_each_layer():
    model = untrained_model()
    ids, _ = induction.repeated_sequences(3, torch.Generator().manual_seed(2))
    seen = []  # (input, output) of every layer, captured here independently
    handles = [layer.register_forward_hook(lambda _m, args, out: seen.append((args[0], out)))
               for layer in model.layers]
    with torch.no_grad():
        model(ids)
    for h in handles:
        h.remove()
    maps = untouched.call(ex.attention_maps, model, ids)
    assert [tuple(m.shape) for m in maps] == [(3, 2, 24, 24), (3, 1, 24, 24)], (
        f"one (B, n_heads, T, T) map per layer: [(3, 2, 24, 24), (3, 1, 24, 24)], got {[tuple(m.shape) for m in maps]}")
    for i, (layer, attn, (x, out)) in enumerate(zip(model.layers, maps, seen, strict=True)):
        assert_close(attn.sum(dim=-1), torch.ones(3, layer.n_heads, 24), f"layer {i}: every row of the map sums to 1")
        assert_equal(attn.triu(1), torch.zeros_like(attn), f"layer {i}: no weight on future keys")
        v = layer.qkv_proj(x).split(24, dim=-1)[2].view(3, 24, layer.n_heads, -1).transpose(1, 2)
        heads = (attn @ v).transpose(1, 2).reshape(3, 24, 24)
        assert_close(layer.out_proj(heads), out,
                     f"layer {i}: the maps times the values, through out_proj, give the layer's own output")


def test_attention_maps_leave_no_hook_and_no_graph():
    model = untrained_model()  # parameters require grad
    ids, _ = induction.repeated_sequences(2, torch.Generator().manual_seed(3))
    maps = untouched.call(ex.attention_maps, model, ids)
    assert not any(m.requires_grad for m in maps), "the maps are computed without an autograd graph"
    assert not hooks_left(model), f"attention_maps removes its hooks; left on: {hooks_left(model)}"
    bad = ids.clone()
    bad[0, 0] = induction.VOCAB  # out of range: the embedding raises
    with pytest.raises(IndexError):
        ex.attention_maps(model, bad)
    assert not hooks_left(model), (
        f"the hooks are removed even when the forward pass fails; left on: {hooks_left(model)}")


def test_ablation_zeroes_exactly_one_head():
    model = untrained_model().eval()
    ids, _ = induction.repeated_sequences(4, torch.Generator().manual_seed(4))
    with torch.no_grad():
        before = model(ids)
        for layer, head in ((0, 1), (1, 0)):
            twin = copy.deepcopy(model)  # the oracle: the head's columns of out_proj set to zero
            attn = twin.layers[layer]
            attn.out_proj.weight[:, head * attn.head_dim:(head + 1) * attn.head_dim] = 0.0
            with ex.ablate_head(model, layer, head):
                assert_close(untouched.call(model, ids), twin(ids),
                             f"ablating head {head} of layer {layer} is the same as zeroing its columns of out_proj")
            assert_equal(model(ids), before, "after the with block the model computes what it did before")
    assert not hooks_left(model), f"ablate_head removes its hook; left on: {hooks_left(model)}"


def test_ablation_is_undone_after_an_exception():
    model = untrained_model().eval()
    ids, _ = induction.repeated_sequences(2, torch.Generator().manual_seed(6))
    with torch.no_grad():
        before = model(ids)
        with pytest.raises(BodyFailed), ex.ablate_head(model, 0, 0):
            raise BodyFailed("the body of the with block fails")
        assert_equal(model(ids), before, "the model is restored even when the with block raises")


# --- the trained model -------------------------------------------------------------------------

def scores_of(model, ids):
    maps = untouched.call(ex.attention_maps, model, ids)
    return ([untouched.call(ex.previous_token_score, m) for m in maps],
            [untouched.call(ex.induction_score, m, ids) for m in maps])


def test_the_trained_model_has_a_previous_token_head_and_an_induction_head():
    model = induction.trained_model()
    ids, _ = induction.repeated_sequences(64, torch.Generator().manual_seed(1))
    prev, ind = scores_of(model, ids)
    layer, head = untouched.call(ex.find_head, ind)
    assert layer == 1 and float(ind[layer][head]) > 0.6, (
        f"the best induction head sits in layer 1 (it needs layer 0's output) with a score above 0.6; "
        f"got layer {layer}, head {head}, score {float(ind[layer][head]):.2f}")
    layer, head = untouched.call(ex.find_head, prev)
    assert layer == 0 and float(prev[layer][head]) > 0.5, (
        f"the best previous-token head sits in layer 0 with a score above 0.5; got layer {layer}, "
        f"head {head}, score {float(prev[layer][head]):.2f}")


def test_ablating_the_induction_head_breaks_copying_and_an_idle_head_does_not():
    model = induction.trained_model()
    ids, first = induction.repeated_sequences(64, torch.Generator().manual_seed(1))
    prev, ind = scores_of(model, ids)
    found = untouched.call(ex.find_head, ind)
    idle = (0, int(prev[0].argmin()))  # the layer-0 head that does not look back
    with torch.no_grad():
        base = float(induction.copy_loss(model, ids, first))
        with ex.ablate_head(model, *found):
            broken = float(induction.copy_loss(model, ids, first))
        with ex.ablate_head(model, *idle):
            spared = float(induction.copy_loss(model, ids, first))
    assert base < 0.5, f"the trained model copies the second half (copy loss {base:.2f} < 0.5)"
    assert broken > base + 2.0, (
        f"ablating the induction head {found} breaks copying: the copy loss rises by more than 2 nats "
        f"(from {base:.2f} to {broken:.2f})")
    assert abs(spared - base) < 0.25, (
        f"ablating the idle head {idle} barely changes the copy loss (from {base:.2f} to {spared:.2f})")
