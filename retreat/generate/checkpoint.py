"""Read a HuggingFace-format model folder: config.json, safetensors weights, tokenizer.json.

`open_checkpoint` checks the folder and maps config.json onto the course's config fields
(GPTConfig for `gpt2`, LlamaConfig for `llama`); `expected_shapes` says what every tensor must
look like given that config, so a folder whose weights disagree with its own config is caught
before any learner code runs. Weights are read one tensor at a time (a 1B-parameter file is never
held twice in memory) and only through safetensors: a pickle from the internet can run code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retreat.errors import UsageProblem

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"
TOKENIZER = "tokenizer.json"
INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"

ARCHITECTURES = {"gpt2": "gpt-model", "llama": "llama"}
"""model_type in config.json -> the course exercise whose model runs it."""


class BadCheckpoint(UsageProblem):
    """The folder is not a checkpoint this command can run (exit code 2)."""


@dataclass(frozen=True)
class Checkpoint:
    folder: Path
    config: dict[str, Any]  # config.json as written
    model_type: str  # a key of ARCHITECTURES
    fields: dict[str, Any]  # keyword arguments of the course's GPTConfig or LlamaConfig
    max_positions: int  # the longest sequence the model was built for
    eos_ids: frozenset[int]  # generation stops after one of these
    weight_files: tuple[Path, ...]
    tokenizer_file: Path

    @property
    def exercise(self) -> str:
        return ARCHITECTURES[self.model_type]


def open_checkpoint(folder: Path) -> Checkpoint:
    """Check the folder has what a run needs and read its config; one clear error otherwise."""
    if not folder.is_dir():
        raise BadCheckpoint(f"{folder} is not a folder")
    config = _read_json(folder / CONFIG, "the model's config: model_type and sizes")
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise BadCheckpoint(f"{folder / CONFIG}: model_type {model_type!r} is not one the course builds "
                            f"(known: {known})")
    fields, max_positions = (_gpt2_fields if model_type == "gpt2" else _llama_fields)(config, folder / CONFIG)
    tokenizer_file = folder / TOKENIZER
    if not tokenizer_file.is_file():
        raise BadCheckpoint(f"{folder} has no {TOKENIZER} (the tokenizer, saved by the tokenizers library or "
                            "by save_pretrained of a fast tokenizer)")
    return Checkpoint(folder=folder, config=config, model_type=model_type, fields=fields,
                      max_positions=max_positions, eos_ids=_eos_ids(folder, config),
                      weight_files=_weight_files(folder), tokenizer_file=tokenizer_file)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise BadCheckpoint(f"{path.parent} has no {path.name} ({what})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadCheckpoint(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadCheckpoint(f"{path} should hold a JSON object")
    return data


def _need(config: dict[str, Any], where: Path, *names: str) -> int:
    """The first of `names` present in config, as a positive int (GPT-2 configs use aliases)."""
    for name in names:
        value = config.get(name)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise BadCheckpoint(f"{where}: {name} should be a positive integer, got {value!r}")
            return value
    raise BadCheckpoint(f"{where} has no {names[0]}")


def _unsupported(where: Path, what: str, model: str) -> BadCheckpoint:
    return BadCheckpoint(f"{where}: {what}, which the course's {model} does not implement")


def _gpt2_fields(config: dict[str, Any], where: Path) -> tuple[dict[str, Any], int]:
    C = _need(config, where, "n_embd", "hidden_size")
    heads = _need(config, where, "n_head", "num_attention_heads")
    positions = _need(config, where, "n_positions", "n_ctx", "max_position_embeddings")
    if C % heads:
        raise BadCheckpoint(f"{where}: n_embd={C} is not a multiple of n_head={heads}")
    if config.get("n_inner") not in (None, 4 * C):
        raise _unsupported(where, f"n_inner={config['n_inner']} (not 4 * n_embd)", "GPT")
    if config.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise _unsupported(where, f"activation_function={config['activation_function']!r} (not the tanh GELU)",
                           "GPT")
    if abs(float(config.get("layer_norm_epsilon", 1e-5)) - 1e-5) > 1e-12:
        raise _unsupported(where, f"layer_norm_epsilon={config['layer_norm_epsilon']} (not 1e-5)", "GPT")
    if not config.get("scale_attn_weights", True) or config.get("scale_attn_by_inverse_layer_idx"):
        raise _unsupported(where, "a non-standard attention scale", "GPT")
    if config.get("tie_word_embeddings") is False:
        raise _unsupported(where, "tie_word_embeddings=false (a separate output head)", "GPT")
    fields = dict(vocab_size=_need(config, where, "vocab_size"), context_length=positions, d_model=C,
                  n_heads=heads, n_layers=_need(config, where, "n_layer", "num_hidden_layers"),
                  dropout=0.0, qkv_bias=True)
    return fields, positions


def _llama_fields(config: dict[str, Any], where: Path) -> tuple[dict[str, Any], int]:
    C = _need(config, where, "hidden_size")
    heads = _need(config, where, "num_attention_heads")
    kv_heads = _need(config, where, "num_key_value_heads", "num_attention_heads")
    if C % heads or heads % kv_heads:
        raise BadCheckpoint(f"{where}: hidden_size={C}, num_attention_heads={heads} and num_key_value_heads="
                            f"{kv_heads} do not divide (hidden by heads, heads by kv heads)")
    if config.get("head_dim") not in (None, C // heads):
        raise _unsupported(where, f"head_dim={config['head_dim']} (not hidden_size / num_attention_heads)",
                           "Llama")
    if config.get("hidden_act", "silu") != "silu":
        raise _unsupported(where, f"hidden_act={config['hidden_act']!r} (SwiGLU uses silu)", "Llama")
    if config.get("attention_bias") or config.get("mlp_bias"):
        raise _unsupported(where, "biases in the attention or MLP projections", "Llama")
    rope = config.get("rope_parameters") or {}  # transformers >= 5 keeps rope_theta here
    scaling = config.get("rope_scaling") or rope
    kind = scaling.get("rope_type", scaling.get("type", "default")) if isinstance(scaling, dict) else "default"
    if kind != "default":
        raise _unsupported(where, f"RoPE scaling {kind!r}", "Llama")
    positions = _need(config, where, "max_position_embeddings") if "max_position_embeddings" in config else 2048
    fields = dict(vocab_size=_need(config, where, "vocab_size"), hidden_size=C,
                  intermediate_size=_need(config, where, "intermediate_size"),
                  num_hidden_layers=_need(config, where, "num_hidden_layers"), num_attention_heads=heads,
                  num_key_value_heads=kv_heads, rms_norm_eps=float(config.get("rms_norm_eps", 1e-6)),
                  rope_theta=float(config.get("rope_theta", rope.get("rope_theta", 10000.0))),
                  max_position_embeddings=positions,
                  tie_word_embeddings=bool(config.get("tie_word_embeddings", False)))
    return fields, positions


def _eos_ids(folder: Path, config: dict[str, Any]) -> frozenset[int]:
    """generation_config.json's eos_token_id (what HF's generate stops on), else config.json's."""
    value = None
    if (folder / GENERATION_CONFIG).is_file():
        value = _read_json(folder / GENERATION_CONFIG, "generation defaults").get("eos_token_id")
    if value is None:
        value = config.get("eos_token_id")
    values = value if isinstance(value, list) else [value]
    return frozenset(v for v in values if isinstance(v, int) and not isinstance(v, bool))


def _weight_files(folder: Path) -> tuple[Path, ...]:
    if (folder / INDEX).is_file():  # sharded: the index maps each tensor to its file
        weight_map = _read_json(folder / INDEX, "the shard index").get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise BadCheckpoint(f"{folder / INDEX} has no weight_map")
        files = tuple(folder / name for name in sorted(set(weight_map.values())))
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise BadCheckpoint(f"{folder} lacks {len(missing)} shard(s) its {INDEX} lists, e.g. {missing[0]}")
        return files
    if (folder / SINGLE).is_file():
        return (folder / SINGLE,)
    files = tuple(sorted(folder.glob("*.safetensors")))
    if files:
        return files
    pickles = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt*"))
    also = (f" ({pickles[0]} is a pickle, which can run code when loaded: retreat reads safetensors only)"
            if pickles else "")
    raise BadCheckpoint(f"{folder} has no *.safetensors weights{also}")


def expected_shapes(ckpt: Checkpoint) -> dict[str, tuple[int, ...]]:
    """Every tensor the checkpoint must hold, by HuggingFace name (GPT-2 without 'transformer.')."""
    f = ckpt.fields
    shapes: dict[str, tuple[int, ...]] = {}
    if ckpt.model_type == "gpt2":
        V, P, C = f["vocab_size"], f["context_length"], f["d_model"]
        shapes.update({"wte.weight": (V, C), "wpe.weight": (P, C), "ln_f.weight": (C,), "ln_f.bias": (C,)})
        for i in range(f["n_layers"]):
            # HF GPT-2's Conv1D stores (in, out): the transpose of nn.Linear's weight.
            for name, shape in {"ln_1.weight": (C,), "ln_1.bias": (C,), "ln_2.weight": (C,), "ln_2.bias": (C,),
                                "attn.c_attn.weight": (C, 3 * C), "attn.c_attn.bias": (3 * C,),
                                "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
                                "mlp.c_fc.weight": (C, 4 * C), "mlp.c_fc.bias": (4 * C,),
                                "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,)}.items():
                shapes[f"h.{i}.{name}"] = shape
        return shapes
    V, C, I = f["vocab_size"], f["hidden_size"], f["intermediate_size"]
    hs = C // f["num_attention_heads"]
    H, G = f["num_attention_heads"] * hs, f["num_key_value_heads"] * hs
    shapes.update({"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)})
    if not f["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, C)
    for i in range(f["num_hidden_layers"]):
        for name, shape in {"input_layernorm.weight": (C,), "post_attention_layernorm.weight": (C,),
                            "self_attn.q_proj.weight": (H, C), "self_attn.k_proj.weight": (G, C),
                            "self_attn.v_proj.weight": (G, C), "self_attn.o_proj.weight": (C, H),
                            "mlp.gate_proj.weight": (I, C), "mlp.up_proj.weight": (I, C),
                            "mlp.down_proj.weight": (C, I)}.items():
            shapes[f"model.layers.{i}.{name}"] = shape
    return shapes


def _canonical(model_type: str, name: str) -> str | None:
    """The name expected_shapes uses, or None for a tensor a run does not need."""
    if model_type == "gpt2":
        name = name.removeprefix("transformer.")
        # Older GPT-2 files keep attention-mask buffers; lm_head is wte again (tied).
        if name.endswith((".attn.bias", ".attn.masked_bias")) or name == "lm_head.weight":
            return None
    elif name.endswith("rotary_emb.inv_freq"):  # older Llama files keep RoPE's frequencies
        return None
    return name


def read_weights(ckpt: Checkpoint) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor the model needs, as (canonical name, float32 tensor). The names and shapes are
    checked against the config first (a missing, extra or misshapen tensor is a BadCheckpoint
    naming it); then the tensors come one at a time, each file mapped only while one tensor is
    copied out, so a big file never sits in memory beside the model."""
    import torch
    from safetensors import SafetensorError, safe_open

    plan = _plan(ckpt)
    for path, key, name in plan:
        try:
            with safe_open(str(path), framework="pt") as f:
                tensor = f.get_tensor(key)
        except SafetensorError as exc:
            raise BadCheckpoint(f"{path} is not a readable safetensors file: {exc}") from None
        yield name, tensor.to(torch.float32)


def _plan(ckpt: Checkpoint) -> list[tuple[Path, str, str]]:
    """(file, key in the file, canonical name) of every tensor to load, from the files' headers."""
    from safetensors import SafetensorError, safe_open

    expected = expected_shapes(ckpt)
    plan: list[tuple[Path, str, str]] = []
    for path in ckpt.weight_files:
        try:
            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                    name = _canonical(ckpt.model_type, key)
                    if name is None or (name == "lm_head.weight" and name not in expected):
                        continue  # not needed; or a tied head saved anyway (embed_tokens is the head)
                    if name not in expected:
                        raise BadCheckpoint(f"{path.name}: tensor {key!r} is not part of a {ckpt.model_type} "
                                            f"with this config.json")
                    shape = tuple(f.get_slice(key).get_shape())
                    if shape != expected[name]:
                        raise BadCheckpoint(f"{path.name}: {key} has shape {shape}, config.json implies "
                                            f"{expected[name]} (the weights and config disagree)")
                    plan.append((path, key, name))
        except SafetensorError as exc:
            raise BadCheckpoint(f"{path} is not a readable safetensors file: {exc}") from None
    missing = [name for name in expected if name not in {n for _, _, n in plan}]
    if missing:
        raise BadCheckpoint(f"{ckpt.folder}: the weights lack {missing[0]}"
                            + (f" and {len(missing) - 1} more tensors" if len(missing) > 1 else "")
                            + " that config.json implies")
    return plan


def load_tokenizer(ckpt: Checkpoint) -> Tokenizer:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(ckpt.tokenizer_file))
    except Exception as exc:  # noqa: BLE001 - the Rust side raises a bare Exception for bad files
        raise BadCheckpoint(f"{ckpt.tokenizer_file} cannot be read by the tokenizers library: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
