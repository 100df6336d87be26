"""Rotary position embeddings (RoPE), in the half-split layout that Llama uses.

Instead of adding a position vector to the token embedding, RoPE rotates the query and key of
every head by an angle proportional to the token's position. Split a head vector of size D into
D/2 pairs; pair i is rotated by the angle m * theta_i at position m, with

    theta_i = base ** (-2i / D)        i = 0, 1, ..., D/2 - 1       (base = 10000)

so the first pairs spin fast and the last ones slowly. Because a rotation by m*theta followed
by the inverse rotation of n*theta is a rotation by (m - n)*theta, the score q_m . k_n depends on
the positions only through the offset m - n.

Layout (as in Llama and HuggingFace): pair i is made of coordinates i and i + D/2, the "first
half" and the "second half" of the vector, NOT neighbours 2i and 2i+1. The rotation is then

    rope(x) = x * cos + rotate_half(x) * sin,     rotate_half([x1, x2]) = [-x2, x1]

where cos and sin hold each angle twice: cos[..., i] == cos[..., i + D/2] == cos(m * theta_i).

Your task: write rope_cos_sin, rotate_half and apply_rope. RoPE is applied to queries and keys,
never to values.
"""

import torch


def rope_cos_sin(positions: torch.Tensor, head_dim: int,
                 base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and sines of the rotation angles, for the half-split layout.

    positions: (..., seq) integer or float positions (e.g. torch.arange(T), or (B, T)).
    Returns (cos, sin), each float32 of shape (..., seq, head_dim), where column i and column
    i + head_dim/2 both hold the angle positions * base ** (-2i / head_dim).
    """
    ### TODO: compute the head_dim/2 inverse frequencies base ** (-2i / head_dim),
    ###       multiply them by the positions (an outer product over the last axis),
    ###       repeat the angles for the two halves (concatenate, do not interleave),
    ###       and return their cos and sin. Work in float32.
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = positions.to(torch.float32)[..., None] * inv_freq  # (..., seq, head_dim/2)
    emb = torch.cat([angles, angles], dim=-1)  # (..., seq, head_dim)
    return emb.cos(), emb.sin()
    ### END


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[x1, x2] -> [-x2, x1], where x1 and x2 are the two halves of the last axis."""
    ### TODO: split the last axis into two halves and concatenate (-second, first).
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)
    ### END


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys x: (batch, heads, seq, head_dim) by their positions' angles.

    cos, sin: (seq, head_dim), shared by the batch, or (batch, seq, head_dim), one row of
    positions per sequence. Returns a tensor of the shape and dtype of x.
    """
    ### TODO: if cos has a batch axis (3 dims), insert the heads axis so it broadcasts over
    ###       (batch, heads, seq, head_dim); cast cos and sin to x.dtype (so a bfloat16 model
    ###       stays bfloat16); then return x * cos + rotate_half(x) * sin.
    if cos.dim() == 3:
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, 1, T, D)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin
    ### END
