"""Rotary position embeddings (RoPE), in the half-split layout of HuggingFace's Llama.

Instead of adding a position vector to the token embedding, RoPE rotates the query and key of
every head by an angle proportional to the token's position. Split a head vector of size D into
D/2 pairs; pair i is rotated by the angle m * theta_i at position m, with

    theta_i = base ** (-2i / D)        i = 0, 1, ..., D/2 - 1       (base = 10000)

so the first pairs spin fast and the last ones slowly. Because a rotation by m*theta followed
by the inverse rotation of n*theta is a rotation by (m - n)*theta, the score q_m . k_n depends on
the positions only through the offset m - n.

Layout. Which coordinates form a pair is a convention, and a checkpoint is tied to one:

- Meta's reference Llama code (and RoFormer) pairs neighbours (2i, 2i+1): it views the head
  vector as D/2 complex numbers x_{2i} + j x_{2i+1} and multiplies them by exp(j m theta_i).
- HuggingFace's Llama pairs coordinate i with i + D/2, the "first half" with the "second half":

      rope(x) = x * cos + rotate_half(x) * sin,     rotate_half([x1, x2]) = [-x2, x1]

  where cos and sin hold each angle twice: cos[..., i] == cos[..., i + D/2] == cos(m * theta_i).

Both compute the same attention scores because HuggingFace's conversion script permutes the rows
of W_q and W_k inside every head: rows 0, 2, 4, ... (the first coordinates of Meta's pairs) become
the first half and rows 1, 3, 5, ... the second half, so Meta's pair (2i, 2i+1) lands on (i, i + D/2).
A permutation applied to both q and k leaves every dot product q . k unchanged, and after it
each pair is rotated by the same angle as before. This exercise (and the capstone) uses the
half-split layout, so HuggingFace checkpoints load as they are.

Your task: write rope_cos_sin, rotate_half, apply_rope and permute_for_half_split. RoPE is
applied to queries and keys, never to values.
"""

import torch


def rope_cos_sin(positions: torch.Tensor, head_dim: int,
                 base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and sines of the rotation angles, for the half-split layout.

    positions: (..., seq) integer or float positions (e.g. torch.arange(T), or (B, T)).
    Returns (cos, sin), each float32 of shape (..., seq, head_dim), where column i and column
    i + head_dim/2 both hold the angle positions * base ** (-2i / head_dim).
    """
    # TODO: compute the head_dim/2 inverse frequencies base ** (-2i / head_dim),
    #       multiply them by the positions (an outer product over the last axis),
    #       repeat the angles for the two halves (concatenate, do not interleave),
    #       and return their cos and sin. Work in float32.
    raise NotImplementedError


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[x1, x2] -> [-x2, x1], where x1 and x2 are the two halves of the last axis."""
    # TODO: split the last axis into two halves and concatenate (-second, first).
    raise NotImplementedError


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys x: (batch, heads, seq, head_dim) by their positions' angles.

    cos, sin: (seq, head_dim), shared by the batch, or (batch, seq, head_dim), one row of
    positions per sequence. Returns a tensor of the shape and dtype of x.
    """
    # TODO: if cos has a batch axis (3 dims), insert the heads axis so it broadcasts over
    #       (batch, heads, seq, head_dim); cast cos and sin to x.dtype (so a bfloat16 model
    #       stays bfloat16); then return x * cos + rotate_half(x) * sin.
    raise NotImplementedError


def permute_for_half_split(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder the rows of a projection trained with Meta's neighbour pairs for the half-split layout.

    w: (n_heads * head_dim, d_in), the weight of q_proj or k_proj (k_proj with n_kv_heads heads),
    rows grouped by head. Within every head, rows 0, 2, 4, ..., head_dim - 2 come first, then rows
    1, 3, 5, ..., head_dim - 1; the heads stay in their order. Returns a new tensor of w's shape;
    w is left unchanged. With it, half-split RoPE on x @ permuted.T gives the same attention scores
    as neighbour-pair RoPE on x @ w.T. (Never apply it to v_proj: values are not rotated.)
    """
    # TODO: view w as (n_heads, head_dim, d_in); index the head_dim axis with the even indices
    #       followed by the odd ones (torch.arange(0, head_dim, 2) and torch.arange(1, head_dim, 2));
    #       reshape back to w's shape.
    raise NotImplementedError
