"""The capstone: a Llama that loads a real Llama checkpoint's weights.

Llama ("LLaMA: Open and Efficient Foundation Language Models", arXiv 2302.13971, and its
successors) is a GPT with four changes you have already built: RMSNorm before each sub-layer
(rmsnorm-swiglu), a SwiGLU feed-forward block (rmsnorm-swiglu), rotary position embeddings on
queries and keys (rope), and grouped-query attention (gqa). Here you assemble them, with a KV
cache (kv-cache), into a model whose parameter names and shapes are exactly HuggingFace's
LlamaForCausalLM, so `model.load_state_dict(hf_model.state_dict())` just works:

    model.embed_tokens.weight                          (vocab_size, hidden_size)
    model.layers.{i}.input_layernorm.weight            (hidden_size,)
    model.layers.{i}.self_attn.q_proj.weight           (n_heads * head_dim, hidden_size)
    model.layers.{i}.self_attn.k_proj.weight           (n_kv_heads * head_dim, hidden_size)
    model.layers.{i}.self_attn.v_proj.weight           (n_kv_heads * head_dim, hidden_size)
    model.layers.{i}.self_attn.o_proj.weight           (hidden_size, n_heads * head_dim)
    model.layers.{i}.post_attention_layernorm.weight   (hidden_size,)
    model.layers.{i}.mlp.gate_proj.weight              (intermediate_size, hidden_size)
    model.layers.{i}.mlp.up_proj.weight                (intermediate_size, hidden_size)
    model.layers.{i}.mlp.down_proj.weight              (hidden_size, intermediate_size)
    model.norm.weight                                  (hidden_size,)
    lm_head.weight                                     (vocab_size, hidden_size)

with head_dim = hidden_size // num_attention_heads. One decoder layer is pre-norm:

    h = x + self_attn(input_layernorm(x))
    y = h + mlp(post_attention_layernorm(h))

and the model is embed_tokens -> layers -> norm -> lm_head. `forward(input_ids, cache=None)`
follows the model protocol of kv-cache (read its module docstring): with a cache, the new tokens
sit at positions cache.length, cache.length + 1, ...; RoPE rotates queries and keys at those
positions, the cache stores the n_kv_heads keys and values (repeat them only after), and new
query t attends to keys 0 .. start + t.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401 (F.scaled_dot_product_attention is yours to call)

import retreat

_norms = retreat.load_exercise("rmsnorm-swiglu")
_rope = retreat.load_exercise("rope")
_gqa = retreat.load_exercise("gqa")
_kv_cache = retreat.load_exercise("kv-cache")
RMSNorm, SwiGLU = _norms.RMSNorm, _norms.SwiGLU
rope_cos_sin, apply_rope = _rope.rope_cos_sin, _rope.apply_rope
repeat_kv = _gqa.repeat_kv
KVCache = _kv_cache.KVCache


@dataclass
class LlamaConfig:
    """Field names and defaults as HuggingFace's LlamaConfig (the defaults are Llama 7B's)."""

    vocab_size: int = 32000
    hidden_size: int = 4096  # the model width C
    intermediate_size: int = 11008  # SwiGLU hidden width
    num_hidden_layers: int = 32
    num_attention_heads: int = 32  # query heads H
    num_key_value_heads: int = 32  # key/value heads G (H for plain multi-head attention)
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0  # RoPE base
    max_position_embeddings: int = 2048  # the context the model was trained for
    tie_word_embeddings: bool = False  # lm_head shares embed_tokens' weight if True

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


class LlamaAttention(nn.Module):
    """Causal grouped-query self-attention with RoPE, writing to the cache of layer `layer_idx`."""

    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        ### TODO: q_proj, k_proj, v_proj, o_proj: nn.Linear without bias, with the shapes listed
        ###       in the module docstring (q: C -> H*hs, k and v: C -> G*hs, o: H*hs -> C).
        ### STUB: pass
        C, H, G, hs = config.hidden_size, self.n_heads, self.n_kv_heads, self.head_dim
        self.q_proj = nn.Linear(C, H * hs, bias=False)
        self.k_proj = nn.Linear(C, G * hs, bias=False)
        self.v_proj = nn.Linear(C, G * hs, bias=False)
        self.o_proj = nn.Linear(H * hs, C, bias=False)
        ### END

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        """x: (B, T, C); cos, sin: (T, head_dim) for the new tokens' positions. Returns (B, T, C)."""
        ### TODO: project and split heads (q: (B, H, T, hs); k, v: (B, G, T, hs)); rotate q and k
        ###       (not v) with apply_rope; if there is a cache, k, v = cache.update(self.layer_idx, k, v);
        ###       repeat k and v to H heads; attend with a causal mask offset by the S - T cached
        ###       tokens (query t sees keys 0 .. S - T + t); merge heads; o_proj.
        B, T, _ = x.shape
        hs = self.head_dim
        q = self.q_proj(x).view(B, T, self.n_heads, hs).transpose(1, 2)  # (B, H, T, hs)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, hs).transpose(1, 2)  # (B, G, T, hs)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, hs).transpose(1, 2)  # (B, G, T, hs)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)  # (B, G, S, hs): the past and the new tokens
        S = k.shape[-2]
        n_rep = self.n_heads // self.n_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)  # (B, H, S, hs)
        allowed = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)  # (T, S)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # (B, H, T, hs)
        out = out.transpose(1, 2).reshape(B, T, self.n_heads * hs)  # (B, T, H * hs)
        return self.o_proj(out)
        ### END


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: x + self_attn(input_layernorm(x)), then h + mlp(post_attention_layernorm(h))."""

    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        ### TODO: self_attn (LlamaAttention), mlp (SwiGLU of hidden_size and intermediate_size),
        ###       input_layernorm and post_attention_layernorm (RMSNorm with config.rms_norm_eps).
        ### STUB: pass
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = SwiGLU(config.hidden_size, config.intermediate_size)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        ### END

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        ### TODO: the two pre-norm residual steps.
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return h + self.mlp(self.post_attention_layernorm(h))
        ### END


class LlamaModel(nn.Module):
    """The decoder stack: embed_tokens, layers, norm (HuggingFace's `model.` prefix)."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        ### TODO: embed_tokens (nn.Embedding), layers (nn.ModuleList of num_hidden_layers
        ###       LlamaDecoderLayer, layer i built with layer_idx=i), norm (the final RMSNorm).
        ### STUB: pass
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        ### END


class Llama(nn.Module):
    """LlamaForCausalLM: `model` (LlamaModel) and `lm_head`; forward(input_ids, cache=None) -> logits."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        ### TODO: self.model = LlamaModel(config); lm_head: nn.Linear(hidden_size, vocab_size,
        ###       bias=False), sharing embed_tokens' weight when config.tie_word_embeddings.
        ### STUB: pass
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        ### END

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """input_ids: (B, T) new tokens -> logits (B, T, vocab_size)."""
        B, T = input_ids.shape
        ### TODO: the new tokens' positions start at cache.length (0 without a cache): read it
        ###       before any layer updates the cache. Build cos, sin with rope_cos_sin(positions,
        ###       head_dim, rope_theta); embed; run every layer; final norm; lm_head.
        start = cache.length if cache is not None else 0
        positions = torch.arange(start, start + T, device=input_ids.device)
        cos, sin = rope_cos_sin(positions, self.config.head_dim, self.config.rope_theta)  # (T, hs)
        x = self.model.embed_tokens(input_ids)  # (B, T, C)
        for layer in self.model.layers:
            x = layer(x, cos, sin, cache)
        return self.lm_head(self.model.norm(x))  # (B, T, vocab)
        ### END


def generate(model: Llama, input_ids: torch.Tensor, max_new_tokens: int, use_cache: bool = True) -> torch.Tensor:
    """Greedy decoding with your kv-cache generate: (B, T) -> (B, T + max_new_tokens)."""
    return _kv_cache.generate(model, input_ids, max_new_tokens, use_cache=use_cache)
