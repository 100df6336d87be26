"""Multi-head attention.

One attention head can only compute one weighted average per position. Multi-head attention runs
`n_heads` smaller heads side by side, each with its own queries, keys and values of size
`head_dim = d_model // n_heads`, and mixes their outputs with one more linear layer.

The parameters are laid out like PyTorch's `nn.MultiheadAttention` (and GPT-2's `c_attn`):
    qkv_proj: nn.Linear(d_model, 3 * d_model)  one fused projection; its output is [q | k | v]
    out_proj: nn.Linear(d_model, d_model)      mixes the heads back together
Within q (and k, v), head h owns the features h*head_dim .. (h+1)*head_dim - 1.

Write `forward`. Use your own attention from the previous exercise, `attention` below.
"""

import torch
import torch.nn as nn

import retreat

attention = retreat.load_exercise("causal-attention")  # your scaled_dot_product_attention


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention over a sequence of vectors x of shape (B, T, d_model)."""

    def __init__(self, d_model: int, n_heads: int, causal: bool = True, bias: bool = True):
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.causal = causal  # True in a decoder: position i only sees positions 0..i
        self.qkv_proj = nn.Linear(d_model, 3 * d_model, bias=bias)  # queries, keys, values at once
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model)."""
        B, T, C = x.shape
        ### TODO: project x to q, k, v (split the fused output in three along the last axis),
        ###       give each a heads axis: (B, T, C) -> (B, nh, T, hs), run
        ###       attention.scaled_dot_product_attention with causal=self.causal, put the heads
        ###       back side by side, (B, nh, T, hs) -> (B, T, C), and apply out_proj.
        q, k, v = self.qkv_proj(x).split(self.d_model, dim=-1)  # each (B, T, C)
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        y = attention.scaled_dot_product_attention(q, k, v, causal=self.causal)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side
        return self.out_proj(y)
        ### END
