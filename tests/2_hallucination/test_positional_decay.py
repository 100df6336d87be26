"""Checks for positional-decay."""

import cmath
import math

import torch

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("positional-decay")


def test_slopes_for_eight_heads_are_powers_of_one_half():
    expected = torch.tensor([2.0 ** -(h + 1) for h in range(8)])
    assert_close(ex.alibi_slopes(8), expected, "8 heads get slopes 1/2, 1/4, ..., 1/256")


def test_slopes_for_other_powers_of_two():
    assert_close(ex.alibi_slopes(4), torch.tensor([2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8]),
                 "4 heads get slopes 2^-2, 2^-4, 2^-6, 2^-8 (start = ratio = 2^(-8/n))")
    assert_close(ex.alibi_slopes(1), torch.tensor([2.0**-8]), "1 head gets the slope 2^-8")
    for n in (2, 16, 32):
        slopes = ex.alibi_slopes(n)
        assert_close(slopes[1:] / slopes[:-1], torch.full((n - 1,), 2.0 ** (-8 / n)),
                     f"{n} heads: the slopes form a geometric sequence with ratio 2^(-8/n)")


def test_slopes_for_twelve_heads_interleave_those_of_sixteen():
    eight = [2.0 ** -(h + 1) for h in range(8)]
    extra = [2.0**-0.5, 2.0**-1.5, 2.0**-2.5, 2.0**-3.5]
    assert_close(ex.alibi_slopes(12), torch.tensor(eight + extra),
                 "12 heads: the 8 slopes of 8 heads, then slopes 0, 2, 4, 6 of 16 heads")


def test_slopes_for_six_heads():
    expected = [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    assert_close(ex.alibi_slopes(6), torch.tensor(expected),
                 "6 heads: the 4 slopes of 4 heads, then slopes 0 and 2 of 8 heads")


def reference_slopes(n):
    """The ALiBi slopes by the recursive rule, in plain Python floats."""
    if n & (n - 1) == 0:
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    p = 1 << (n.bit_length() - 1)
    return reference_slopes(p) + reference_slopes(2 * p)[0::2][: n - p]


def test_slopes_for_every_head_count_up_to_forty():
    for n in range(1, 41):
        slopes = ex.alibi_slopes(n)
        assert slopes.dtype == torch.float32, f"alibi_slopes returns float32 (got {slopes.dtype})"
        assert_close(slopes, torch.tensor(reference_slopes(n)),
                     f"{n} heads: the slopes of the largest power of two p <= n, then slopes "
                     "0, 2, 4, ... of 2p heads (0-based), n - p of them")


def test_doubling_the_heads_interleaves_new_slopes():
    for n in (2, 4, 8):
        assert_close(ex.alibi_slopes(2 * n)[1::2], ex.alibi_slopes(n),
                     f"every other slope of {2 * n} heads is a slope of {n} heads")


def test_bias_closed_form():
    m = ex.alibi_slopes(2)
    expected = torch.stack([-m[h] * torch.tensor([[0.0, 1, 2], [1, 0, 1], [2, 1, 0]]) for h in range(2)])
    bias = ex.alibi_bias(2, 3)
    assert_close(bias, expected, "bias[h, i, j] = -slope_h * |i - j|")


def test_bias_depends_only_on_the_distance():
    bias = ex.alibi_bias(4, 9)
    assert bias.shape == (4, 9, 9), "alibi_bias has shape (n_heads, seq_len, seq_len)"
    for offset in range(-8, 9):
        diag = torch.diagonal(bias, offset=offset, dim1=1, dim2=2)  # (H, T - |offset|)
        assert_close(diag, diag[:, :1].expand_as(diag),
                     f"every entry on the diagonal at offset {offset} is the same (Toeplitz)")
    assert (bias <= 0).all(), "the bias is a penalty: never positive"


def test_causal_attention_with_bias_matches_the_shifted_form():
    # Softmax ignores a constant per row, so on the causal part -m (i - j) acts like +m j,
    # the cheap form some implementations use.
    H, T = 4, 7
    scores = torch.randn(H, T, T)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    shifted = ex.alibi_slopes(H)[:, None, None] * torch.arange(T).float()  # (H, 1, T)
    with_bias = (scores + ex.alibi_bias(H, T)).masked_fill(~causal, float("-inf")).softmax(-1)
    with_shift = (scores + shifted).masked_fill(~causal, float("-inf")).softmax(-1)
    assert_close(with_bias, with_shift, "causal attention with the bias equals the +slope*j form")


def test_alibi_attention_prefers_nearby_tokens():
    T = 12
    weights = ex.alibi_bias(8, T)[:, -1, :].softmax(-1)  # equal q.k: last query, (H, T)
    assert (weights[:, 1:] > weights[:, :-1]).all(), \
        "with equal q.k scores, ALiBi gives nearer keys strictly more attention"


def brute_force_bound(d, r, base):
    theta = [base ** (-2 * k / d) for k in range(d // 2)]
    total = 0.0
    for j in range(1, d // 2 + 1):
        total += abs(sum(cmath.exp(1j * r * theta[k]) for k in range(j)))
    return total / (d // 2)


def test_rope_bound_matches_the_formula():
    bound = ex.rope_decay_bound(8, 30, base=100.0)
    assert bound.shape == (31,), "rope_decay_bound has shape (max_distance + 1,)"
    expected = torch.tensor([brute_force_bound(8, r, 100.0) for r in range(31)], dtype=bound.dtype)
    assert_close(bound, expected, "B(r) = (2/d) sum_j |sum_{k<j} exp(i r theta_k)| with theta_k = base^(-2k/d)")


def test_rope_bound_at_distance_zero():
    for d in (16, 64, 128):
        b0 = float(ex.rope_decay_bound(d, 0)[0])
        assert math.isclose(b0, (d / 2 + 1) / 2, rel_tol=1e-9), f"B(0) = (d/2 + 1) / 2 for d = {d}"


def test_rope_bound_decays_with_distance():
    bound = ex.rope_decay_bound(128, 1024)
    assert (bound <= bound[0] + 1e-9).all(), "no distance has a larger bound than distance 0"
    near, mid, far = bound[1:64].mean(), bound[64:256].mean(), bound[256:].mean()
    assert near > mid > far, "the bound shrinks on average as the distance grows"
    assert far < 0.25 * bound[0], "far away (r >= 256) the bound is under a quarter of B(0)"
