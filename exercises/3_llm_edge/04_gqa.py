"""Grouped-query attention (GQA): fewer key/value heads than query heads.

During generation a model keeps the keys and values of every past token (the KV cache, next
exercise). With H heads that is 2 * H * head_dim numbers per token and layer, and reading them
back from memory is what makes decoding slow. GQA keeps all H query heads but only G key/value
heads (G divides H): query heads come in G groups of n_rep = H / G, and every head in a group
uses the same key and value head. The cache shrinks by a factor n_rep.

    G = H   ordinary multi-head attention (MHA)
    G = 1   multi-query attention (MQA): one key/value head shared by all query heads
    1 < G < H   grouped-query attention (Llama 2 70B, Llama 3, Mistral use G = 8)

Grouping is consecutive, as in HuggingFace's Llama: query head j uses key/value head j // n_rep.
The simplest correct implementation repeats each key/value head n_rep times (repeat_kv) and then
runs ordinary attention.

Your task: write repeat_kv, and GroupedQueryAttention's projections and causal forward pass.
Layer names (q_proj, k_proj, v_proj, o_proj, no biases) are HuggingFace's LlamaAttention names.
"""

import math  # noqa: F401 (math.sqrt is yours to call)

import torch
import torch.nn as nn


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """(B, G, T, head_dim) -> (B, G * n_rep, T, head_dim); output head j is input head j // n_rep."""
    # TODO: repeat each head n_rep times in a row (head 0, 0, ..., 1, 1, ...), not the whole
    #       stack n_rep times (0, 1, ..., 0, 1, ...). Return x itself when n_rep == 1.
    raise NotImplementedError


class GroupedQueryAttention(nn.Module):
    """Causal self-attention with n_heads query heads and n_kv_heads key/value heads."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int):
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be a multiple of n_heads"
        assert n_heads % n_kv_heads == 0, "n_heads must be a multiple of n_kv_heads"
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.head_dim = d_model // n_heads
        # TODO: four nn.Linear layers without bias:
        #       q_proj: d_model -> n_heads * head_dim,
        #       k_proj and v_proj: d_model -> n_kv_heads * head_dim,
        #       o_proj: n_heads * head_dim -> d_model.
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, d_model) -> (B, T, d_model), each position attending to itself and the past."""
        B, T, _ = x.shape
        # TODO: project to q (B, H, T, hs) and k, v (B, G, T, hs): view as (B, T, heads, hs),
        #       then transpose(1, 2). Repeat k and v to H heads, compute causal softmax attention
        #       with scores scaled by 1/sqrt(head_dim), merge the heads and apply o_proj.
        raise NotImplementedError
