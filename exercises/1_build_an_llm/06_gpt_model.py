"""The GPT model: embeddings, a stack of transformer blocks, and a head that predicts the next token.

    ids (B, T) -> emb -> dropout -> block 1 -> ... -> block L -> ln_f -> lm_head -> logits (B, T, V)

Each block is "pre-norm" (as GPT-2): a residual stream x that two sub-layers read from and add to,

    x = x + dropout(attn(ln_1(x)))       tokens exchange information (causal multi-head attention)
    x = x + dropout(mlp(ln_2(x)))        each token is processed on its own (Linear-GELU-Linear)

The output head shares its weight with the token embedding (weight tying, as GPT-2).
The model is built from your earlier exercises: `embeddings.TokenAndPositionEmbedding` and
`mha.MultiHeadAttention`. Parameter names, for reference:

    emb.tok_emb.weight (V, C)            emb.pos_emb.weight (context_length, C)
    blocks.{i}.ln_1 / ln_2 / ln_f         nn.LayerNorm(C): weight, bias
    blocks.{i}.attn.qkv_proj (C -> 3C)    blocks.{i}.attn.out_proj (C -> C)
    blocks.{i}.mlp.fc (C -> 4C)           blocks.{i}.mlp.proj (4C -> C)
    lm_head.weight                        the same tensor as emb.tok_emb.weight

Write `MLP.forward`, `Block.forward`, `GPT.forward` and `GPT.load_hf_gpt2`, which loads the
weights of a HuggingFace GPT-2 (`GPT2LMHeadModel.state_dict()`) into this model.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

import retreat

embeddings = retreat.load_exercise("embeddings")  # your TokenAndPositionEmbedding
mha = retreat.load_exercise("multi-head-attention")  # your MultiHeadAttention


@dataclass
class GPTConfig:
    """Hyperparameters; the defaults are GPT-2 small (124M parameters)."""

    vocab_size: int = 50257  # GPT-2's BPE: 256 bytes + 50000 merges + <|endoftext|>
    context_length: int = 1024  # longest sequence the model reads (rows of the position table)
    d_model: int = 768  # width of the residual stream, C
    n_heads: int = 12  # attention heads per block; head size C / n_heads = 64
    n_layers: int = 12  # transformer blocks
    dropout: float = 0.0  # 0.1 when pre-training GPT-2; 0.0 for fine-tuning and for tests
    qkv_bias: bool = True  # biases in the attention projections (GPT-2 has them)


class MLP(nn.Module):
    """The feed-forward sub-layer: C -> 4C -> GELU -> C, applied to every position separately."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU ("gelu_new")
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        # TODO: fc, then gelu, then proj.
        raise NotImplementedError


class Block(nn.Module):
    """One pre-norm transformer block."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = mha.MultiHeadAttention(config.d_model, config.n_heads, causal=True,
                                           bias=config.qkv_bias)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.mlp = MLP(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        # TODO: two residual steps: add dropout(attn(ln_1(x))) to x, then add
        #       dropout(mlp(ln_2(x))) to the result. Normalise the input of each sub-layer,
        #       never the residual stream itself.
        raise NotImplementedError


class GPT(nn.Module):
    """A GPT-2-style decoder-only transformer language model."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.emb = embeddings.TokenAndPositionEmbedding(config.vocab_size, config.context_length,
                                                        config.d_model, learned=True)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.emb.tok_emb.weight  # weight tying: one (V, C) matrix, two uses
        self.apply(self._init_weights)
        # GPT-2 (section 2.3) scales the weights of the residual layers by 1/sqrt(N) at
        # initialisation, N the number of residual layers: every block adds to the stream twice
        # (attention, then MLP), so N = 2 * n_layers, and the layers that write into the stream are
        # the two output projections (c_proj in HF GPT-2, which initialises them the same way).
        # Otherwise the stream's variance grows with depth.
        for block in self.blocks:
            for proj in (block.attn.out_proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Small normal weights (std 0.02, GPT-1's choice, kept by GPT-2), zero biases; LayerNorms
        # keep their 1 and 0.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) int64, T <= context_length -> logits (B, T, vocab_size)."""
        # TODO: embed (self.emb), dropout, every block in order, the final layer norm,
        #       then lm_head.
        raise NotImplementedError

    @torch.no_grad()
    def load_hf_gpt2(self, state_dict: dict[str, torch.Tensor]) -> "GPT":
        """Copy the weights of a HuggingFace GPT-2 into this model (whose config must match).

        The keys are HuggingFace's, with or without the leading "transformer.":
            transformer.wte.weight (V, C), transformer.wpe.weight (context_length, C)
            transformer.h.{i}.ln_1.weight / .bias, .ln_2.weight / .bias, transformer.ln_f...
            transformer.h.{i}.attn.c_attn.weight (C, 3C), .bias (3C,)   q, k, v fused
            transformer.h.{i}.attn.c_proj.weight (C, C),  .bias (C,)
            transformer.h.{i}.mlp.c_fc.weight (C, 4C),    .bias (4C,)
            transformer.h.{i}.mlp.c_proj.weight (4C, C),  .bias (C,)
        HF GPT-2 stores its linear layers as `Conv1D`, which computes x @ W + b: every 2-D weight
        under attn. and mlp. is the TRANSPOSE of the matching nn.Linear weight. Other keys
        (lm_head.weight, which is tied to wte; older versions' attn.bias masks) are ignored.
        The values are copied into the model's own parameters: `state_dict` is left as it was, and
        training the model later never changes it. Returns self.
        """
        # TODO: strip the "transformer." prefix from the keys; copy (param.copy_) wte, wpe,
        #       ln_f and, for each block, ln_1, c_attn -> attn.qkv_proj, c_proj ->
        #       attn.out_proj, ln_2, c_fc -> mlp.fc, mlp.c_proj -> mlp.proj, transposing the
        #       2-D Conv1D weights. Check the shapes agree before each copy.
        raise NotImplementedError
