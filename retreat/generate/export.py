"""Write a course model as a HuggingFace-format folder that `retreat generate` (and transformers)
can read: config.json, model.safetensors, tokenizer.json, generation_config.json.

The course's GPT is saved under HuggingFace GPT-2's names (Conv1D weights transposed, the tied
head left out, a missing bias written as zeros, which computes the same); the course's Llama
already uses LlamaForCausalLM's names. The tests make their tiny checkpoints with this, and the
training exercise can save the learner's model with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retreat.generate.checkpoint import CONFIG, GENERATION_CONFIG, SINGLE, TOKENIZER

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer
    from torch import nn


def gpt2_config(config: Any, eos_id: int | None = None) -> dict[str, Any]:
    """config.json for the course's GPTConfig (any object with its field names)."""
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": config.vocab_size,
            "n_positions": config.context_length, "n_embd": config.d_model, "n_head": config.n_heads,
            "n_layer": config.n_layers, "n_inner": None, "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "bos_token_id": eos_id,
            "eos_token_id": eos_id}


def gpt2_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The course GPT's weights under HuggingFace GPT-2's names (GPT2Model's, no 'transformer.')."""
    import torch

    out: dict[str, torch.Tensor] = {"wte.weight": model.emb.tok_emb.weight, "wpe.weight": model.emb.pos_emb.weight}

    def linear(layer: nn.Linear, name: str) -> None:
        out[f"{name}.weight"] = layer.weight.t()  # nn.Linear (out, in) -> Conv1D (in, out)
        bias = layer.bias if layer.bias is not None else torch.zeros(layer.out_features)
        out[f"{name}.bias"] = bias

    def norm(layer: nn.LayerNorm, name: str) -> None:
        out[f"{name}.weight"], out[f"{name}.bias"] = layer.weight, layer.bias

    for i, block in enumerate(model.blocks):
        norm(block.ln_1, f"h.{i}.ln_1")
        linear(block.attn.qkv_proj, f"h.{i}.attn.c_attn")
        linear(block.attn.out_proj, f"h.{i}.attn.c_proj")
        norm(block.ln_2, f"h.{i}.ln_2")
        linear(block.mlp.fc, f"h.{i}.mlp.c_fc")
        linear(block.mlp.proj, f"h.{i}.mlp.c_proj")
    norm(model.ln_f, "ln_f")
    return out


def llama_config(config: Any, eos_id: int | None = None, bos_id: int | None = None) -> dict[str, Any]:
    """config.json for the course's LlamaConfig."""
    fields = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings")
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            **{name: getattr(config, name) for name in fields}, "bos_token_id": bos_id, "eos_token_id": eos_id}


def llama_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The course Llama's weights: its names are LlamaForCausalLM's; a tied head is left out."""
    tensors = dict(model.state_dict())
    if model.config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    return tensors


def save(folder: Path, config: dict[str, Any], tensors: dict[str, torch.Tensor],
         tokenizer: Tokenizer | Path | str) -> Path:
    """Write the folder; `tokenizer` is a tokenizers.Tokenizer, a tokenizer.json path or its text."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    eos = config.get("eos_token_id")
    (folder / GENERATION_CONFIG).write_text(json.dumps({"eos_token_id": eos, "bos_token_id": config.get(
        "bos_token_id")}, indent=2) + "\n", encoding="utf-8")
    # safetensors stores each tensor once: detach, own the memory, lay it out contiguously.
    save_file({k: v.detach().float().contiguous().clone() for k, v in tensors.items()}, str(folder / SINGLE),
              metadata={"format": "pt"})
    if isinstance(tokenizer, Path):
        text = tokenizer.read_text(encoding="utf-8")
    elif isinstance(tokenizer, str):
        text = tokenizer
    else:
        text = tokenizer.to_str()
    (folder / TOKENIZER).write_text(text, encoding="utf-8")
    return folder
