"""Checks for embeddings: the sinusoid formula, its relative-position property, lookup = one-hot @ W.
Every call hands the learner copies of its inputs (support/untouched.py)."""

import math

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("embeddings")
untouched = retreat.load_support("untouched")


def test_sinusoidal_formula():
    P, d = 64, 16
    table = ex.sinusoidal_positions(P, d)
    assert table.shape == (P, d) and table.dtype == torch.float32, (
        f"sinusoidal_positions(64, 16) is a float32 tensor of shape (64, 16), got {table.dtype} "
        f"{tuple(table.shape)}")
    expected = torch.tensor([[math.sin(p / 10000 ** (2 * (j // 2) / d)) if j % 2 == 0
                              else math.cos(p / 10000 ** (2 * (j // 2) / d)) for j in range(d)]
                             for p in range(P)])
    assert_close(table, expected, "P[p, 2i] = sin(p / 10000^(2i/d)) and P[p, 2i+1] = cos(p / 10000^(2i/d))",
                 atol=1e-4, rtol=1e-4)


def test_position_zero_is_zeros_and_ones():
    first = ex.sinusoidal_positions(4, 8)[0]
    assert_close(first, torch.tensor([0.0, 1.0] * 4), "position 0 is (sin 0, cos 0, ...) = (0, 1, 0, 1, ...)")


def test_dot_product_depends_only_on_the_offset():
    # sum_i sin(p w_i) sin(q w_i) + cos(p w_i) cos(q w_i) = sum_i cos((p - q) w_i)
    d = 32
    table = ex.sinusoidal_positions(100, d).double()
    w = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    for k in [1, 5, 17]:
        dots = (table[:-k] * table[k:]).sum(-1)  # P[p] . P[p + k] for every p
        assert_close(dots, torch.cos(k * w).sum().expand_as(dots),
                     f"P[p] . P[p + {k}] is the same for every p (it equals sum_i cos({k} w_i))",
                     atol=1e-4, rtol=1e-4)


def test_lookup_equals_one_hot_matmul():
    emb = ex.TokenAndPositionEmbedding(vocab_size=50, context_length=10, dim=8)
    ids = torch.randint(0, 50, (3, 7))
    expected = F.one_hot(ids, 50).float() @ emb.tok_emb.weight + emb.pos_emb.weight[:7]
    assert_close(untouched.call(emb, ids), expected,
                 "embedding = one_hot(ids) @ tok_emb.weight + the first T rows of pos_emb.weight")


def test_learned_positions_are_trainable():
    emb = ex.TokenAndPositionEmbedding(vocab_size=50, context_length=10, dim=8, learned=True)
    trainable = sum(p.numel() for p in emb.parameters() if p.requires_grad)
    assert trainable == 50 * 8 + 10 * 8, (
        f"learned=True trains vocab_size*dim + context_length*dim = 480 numbers, found {trainable}")


def test_sinusoidal_positions_are_fixed():
    emb = ex.TokenAndPositionEmbedding(vocab_size=50, context_length=10, dim=8, learned=False)
    assert_close(emb.pos_emb.weight, ex.sinusoidal_positions(10, 8),
                 "with learned=False, pos_emb holds sinusoidal_positions(context_length, dim)")
    trainable = sum(p.numel() for p in emb.parameters() if p.requires_grad)
    assert trainable == 50 * 8, f"with learned=False only the 400 token embeddings train, found {trainable}"
    ids = torch.tensor([[3, 3, 3]])
    out = untouched.call(emb, ids)
    assert_close(out - emb.tok_emb.weight[3], emb.pos_emb.weight[:3].expand(1, 3, 8),
                 "the same token at positions 0, 1, 2 differs exactly by the position rows")
