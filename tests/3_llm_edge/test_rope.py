"""Checks for rope. The learner's code always gets clones of the inputs; the expected values are
computed from the untouched originals."""

import math

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("rope")


def rope(x, positions, base=10000.0):
    cos, sin = ex.rope_cos_sin(positions.clone(), x.shape[-1], base)
    return ex.apply_rope(x.clone(), cos, sin)


def neighbour_pair_rotation(x, positions, base=10000.0):
    """Meta's layout, the closed form: coordinates (2i, 2i+1) are the complex number
    x_2i + j x_2i+1, multiplied by exp(j * m * base**(-2i/D)). Computed in float64."""
    D = x.shape[-1]
    theta = base ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / D)
    angles = positions.to(torch.float64)[:, None] * theta  # (T, D/2)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], D // 2, 2).contiguous())
    z = z * torch.polar(torch.ones_like(angles), angles)
    return torch.view_as_real(z).reshape(x.shape).to(x.dtype)


def heads(t, n_heads):
    """(B, T, n_heads * D) -> (B, n_heads, T, D)."""
    B, T, _ = t.shape
    return t.view(B, T, n_heads, -1).transpose(1, 2)


def complex_rotation(x, positions, base=10000.0):
    """The closed form: pair (x_i, x_{i+D/2}) is the complex number x_i + j x_{i+D/2},
    multiplied by exp(j * m * base**(-2i/D)). Computed in float64."""
    D = x.shape[-1]
    i = torch.arange(D // 2, dtype=torch.float64)
    theta = base ** (-2.0 * i / D)
    angles = positions.to(torch.float64)[:, None] * theta  # (T, D/2)
    z = torch.complex(x[..., : D // 2].double(), x[..., D // 2:].double())
    z = z * torch.polar(torch.ones_like(angles), angles)
    return torch.cat([z.real, z.imag], dim=-1).to(x.dtype)


def test_cos_sin_shapes():
    cos, sin = ex.rope_cos_sin(torch.arange(7), 16)
    assert tuple(cos.shape) == (7, 16), "rope_cos_sin(positions of shape (T,), D) gives cos of shape (T, D)"
    assert tuple(sin.shape) == (7, 16), "rope_cos_sin(positions of shape (T,), D) gives sin of shape (T, D)"
    cos, sin = ex.rope_cos_sin(torch.arange(10).view(2, 5), 8)
    assert tuple(cos.shape) == (2, 5, 8), "positions of shape (B, T) give cos of shape (B, T, D)"
    assert cos.dtype == torch.float32, "cos and sin are float32"


def test_cos_sin_match_the_closed_form():
    positions = torch.arange(0, 50, 3)
    for D, base in [(16, 10000.0), (8, 500.0)]:
        cos, sin = ex.rope_cos_sin(positions.clone(), D, base)
        i = torch.arange(D // 2, dtype=torch.float64)
        angles = positions.double()[:, None] * base ** (-2.0 * i / D)  # (T, D/2)
        halves = torch.cat([angles, angles], dim=-1)  # half-split: column i and i + D/2 agree
        assert_close(cos.double(), halves.cos(),
                     f"cos[m, i] = cos(m * base**(-2i/D)) for i and i + D/2 (D={D}, base={base})",
                     atol=1e-4, rtol=1e-4)
        assert_close(sin.double(), halves.sin(),
                     f"sin[m, i] = sin(m * base**(-2i/D)) for i and i + D/2 (D={D}, base={base})",
                     atol=1e-4, rtol=1e-4)


def test_rotate_half():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert_equal(ex.rotate_half(x), torch.tensor([-4.0, -5.0, -6.0, 1.0, 2.0, 3.0]),
                 "rotate_half([x1, x2]) = [-x2, x1]")


def test_half_split_pairs_on_a_unit_vector():
    # D = 4: pair 0 is (x0, x2) with theta_0 = 1; pair 1 is (x1, x3) with theta_1 = 1/base**0.5.
    m = 3
    x = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 1, 1, 4)
    out = rope(x, torch.tensor([m]))
    expected = torch.tensor([math.cos(m), 0.0, math.sin(m), 0.0]).view(1, 1, 1, 4)
    assert_close(out, expected, "e_0 at position m rotates into the second half: "
                 "(cos m, 0, sin m, 0) — coordinates i and i + D/2 form a pair",
                 atol=1e-6, rtol=1e-5)


def test_matches_complex_multiplication():
    x = torch.randn(2, 3, 11, 16)
    positions = torch.arange(11)
    assert_close(rope(x, positions), complex_rotation(x, positions),
                 "RoPE multiplies each pair x_i + j x_(i+D/2) by exp(j m theta_i)",
                 atol=1e-5, rtol=1e-4)


def test_position_zero_changes_nothing():
    x = torch.randn(1, 2, 1, 8)
    assert_close(rope(x, torch.tensor([0])), x, "at position 0 RoPE is the identity")


def test_preserves_the_norm_of_every_vector():
    x = torch.randn(2, 4, 20, 32)
    out = rope(x, torch.arange(100, 120))
    assert_close(out.norm(dim=-1), x.norm(dim=-1), "RoPE is a rotation: it preserves each vector's norm",
                 atol=1e-4, rtol=1e-5)


def test_scores_depend_only_on_the_offset():
    T, D = 12, 16
    q, k = torch.randn(2, 1, 1, T, D).unbind(0)
    for shift in [1, 7, 250]:
        pos = torch.arange(T)
        scores = rope(q, pos) @ rope(k, pos).transpose(-2, -1)  # (1, 1, T, T)
        shifted = rope(q, pos + shift) @ rope(k, pos + shift).transpose(-2, -1)
        assert_close(shifted, scores,
                     f"q_m . k_n depends only on m - n: shifting every position by {shift} "
                     "leaves the scores unchanged", atol=1e-4, rtol=1e-4)


def test_apply_rope_leaves_its_input_unchanged():
    x = torch.randn(2, 3, 5, 8)
    cos, sin = ex.rope_cos_sin(torch.arange(5), 8)
    given = x.clone()
    ex.apply_rope(given, cos, sin)
    assert_equal(given, x, "apply_rope returns a new tensor and never writes into x")


def test_batched_positions_rotate_each_sequence_by_its_own_offsets():
    B, H, T, D = 3, 2, 5, 8
    x = torch.randn(B, H, T, D)
    positions = torch.stack([torch.arange(T) + start for start in (0, 4, 17)])  # (B, T)
    cos, sin = ex.rope_cos_sin(positions.clone(), D)
    out = ex.apply_rope(x.clone(), cos, sin)
    for b in range(B):
        assert_close(out[b:b + 1], rope(x[b:b + 1], positions[b]),
                     f"cos/sin of shape (B, T, D) rotate sequence {b} by its own positions")


def test_float_positions_interpolate():
    # Position interpolation (next exercise) feeds fractional positions.
    x = torch.randn(1, 1, 4, 8)
    positions = torch.tensor([0.0, 0.5, 1.25, 2.0])
    assert_close(rope(x, positions), complex_rotation(x, positions),
                 "fractional positions rotate by fractional angles", atol=1e-5, rtol=1e-4)


def test_keeps_the_dtype_of_x():
    x = torch.randn(1, 2, 6, 8)
    cos, sin = ex.rope_cos_sin(torch.arange(6), 8)
    out = ex.apply_rope(x.to(torch.bfloat16), cos, sin)
    assert out.dtype == torch.bfloat16, "apply_rope on bfloat16 queries returns bfloat16 (cast cos and sin to x.dtype)"
    assert_close(out.float(), complex_rotation(x, torch.arange(6)),
                 "bfloat16 RoPE agrees with float32 RoPE to bfloat16 precision", atol=3e-2, rtol=2e-2)


# ---- Meta's layout and HuggingFace's: permute_for_half_split ----------------------------------

def test_permute_for_half_split_small_example():
    w = torch.arange(8.0).view(8, 1)  # 2 heads of head_dim 4, one input column
    out = ex.permute_for_half_split(w.clone(), n_heads=2)
    assert_equal(out.flatten(), torch.tensor([0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]),
                 "within each head the even rows come first, then the odd rows; heads keep their order")
    w = torch.arange(24.0).view(12, 2)  # 2 heads of head_dim 6, two input columns
    out = ex.permute_for_half_split(w.clone(), n_heads=2)
    order = [0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11]
    assert_equal(out, w[order], "permute_for_half_split moves whole rows (every input column with its row)")


def test_half_split_rotation_of_permuted_weights_is_meta_rotation_permuted():
    B, T, d_in, H, D = 2, 7, 24, 3, 8
    x = torch.randn(B, T, d_in)
    w = torch.randn(H * D, d_in)
    positions = torch.arange(T)
    meta = neighbour_pair_rotation(heads(x @ w.T, H), positions)  # Meta: neighbour pairs, original w
    ours = rope(heads(x @ ex.permute_for_half_split(w.clone(), H).T, H), positions)
    order = torch.cat([torch.arange(0, D, 2), torch.arange(1, D, 2)])
    assert_close(ours, meta[..., order], "half-split RoPE on the permuted projection gives Meta's rotated "
                 "vector with its coordinates reordered evens-then-odds", atol=1e-5, rtol=1e-4)


def test_meta_layout_and_half_split_layout_give_the_same_attention_scores():
    # A Meta checkpoint (neighbour pairs) converted for the half-split layout: only W_q and W_k change.
    B, T, d_in, H, G, D = 2, 9, 32, 4, 2, 8  # grouped-query: k_proj has G heads
    x = torch.randn(B, T, d_in)
    w_q, w_k = torch.randn(H * D, d_in), torch.randn(G * D, d_in)
    positions = torch.arange(T) + 5
    q_meta = neighbour_pair_rotation(heads(x @ w_q.T, H), positions)
    k_meta = neighbour_pair_rotation(heads(x @ w_k.T, G), positions).repeat_interleave(H // G, dim=1)
    q_hf = rope(heads(x @ ex.permute_for_half_split(w_q.clone(), H).T, H), positions)
    k_hf = rope(heads(x @ ex.permute_for_half_split(w_k.clone(), G).T, G), positions).repeat_interleave(H // G, dim=1)
    assert_close(q_hf @ k_hf.transpose(-2, -1), q_meta @ k_meta.transpose(-2, -1),
                 "q . k with Meta's neighbour pairs and the original W_q, W_k equals q . k with the "
                 "half-split layout and the permuted W_q, W_k (every head, every pair of positions)",
                 atol=1e-4, rtol=1e-4)


def test_permute_for_half_split_leaves_its_input_unchanged():
    w = torch.randn(16, 5)
    given = w.clone()
    ex.permute_for_half_split(given, 2)
    assert_equal(given, w, "permute_for_half_split returns a new tensor and leaves w unchanged")
