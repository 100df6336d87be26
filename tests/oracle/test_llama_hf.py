"""Maintainers' oracle for llama: a tiny random HuggingFace LlamaForCausalLM (grouped-query
attention on, untied head) loads into the reference Llama with load_state_dict(strict=True), its
logits agree to 1e-5, and cached greedy generation equals HF's greedy generate. Several configs:
head counts, GQA ratios, rope_theta, sequence lengths and batch sizes. Needs transformers; no download."""

import inspect

import pytest
import torch

import retreat
from retreat.testing import assert_close, assert_equal

transformers = pytest.importorskip("transformers")

CONFIGS = {  # name: (hidden, heads, kv_heads, layers, rope_theta)
    "gqa-4-2": (32, 4, 2, 2, 10000.0),
    "mqa-8-1": (64, 8, 1, 2, 500000.0),
    "mha-4-4": (32, 4, 4, 1, 10000.0),
    "gqa-6-3": (48, 6, 3, 3, 1000.0),
}


def tiny_pair(hidden, heads, kv_heads, layers, theta, vocab=101, intermediate=72):
    sol = retreat.load_solution("llama")
    fields = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate,
                  num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                  rms_norm_eps=1e-6, rope_theta=theta, max_position_embeddings=256, tie_word_embeddings=False)
    hf_config = transformers.LlamaConfig(**fields, attn_implementation="eager")
    hf = transformers.LlamaForCausalLM(hf_config).eval()
    with torch.no_grad():  # HF initialises norms to 1 and weights small: make every parameter matter
        for name, p in hf.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0.0, 0.1)
    hf.generation_config.eos_token_id = None  # generate exactly max_new_tokens
    hf.generation_config.pad_token_id = 0
    model = sol.Llama(sol.LlamaConfig(**fields)).eval()
    model.load_state_dict(hf.state_dict(), strict=True)
    return sol, hf, model


def test_state_dict_keys_and_shapes_equal_huggingface():
    for name, cfg in CONFIGS.items():
        sol, hf, model = tiny_pair(*cfg)
        ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in hf.state_dict().items()}
        assert_equal(ours, theirs, f"[{name}] state_dict names and shapes equal LlamaForCausalLM's")


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("batch,seq", [(1, 1), (2, 7), (3, 33)])
def test_logits_match_huggingface(name, batch, seq):
    sol, hf, model = tiny_pair(*CONFIGS[name])
    ids = torch.randint(0, 101, (batch, seq))
    with torch.no_grad():
        assert_close(model(ids), hf(ids).logits, f"[{name}, B={batch}, T={seq}] logits equal HF Llama's",
                     atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_cached_logits_match_huggingface_cache(name):
    sol, hf, model = tiny_pair(*CONFIGS[name])
    ids = torch.randint(0, 101, (2, 10))
    cache = sol.KVCache()
    with torch.no_grad():
        ours = torch.cat([model(ids[:, :6], cache=cache)] + [model(ids[:, t : t + 1], cache=cache)
                                                             for t in range(6, 10)], dim=1)
        # transformers 5 renamed past_key_values to cache; accept either
        key = "cache" if "cache" in inspect.signature(hf.forward).parameters else "past_key_values"
        out = hf(ids[:, :6], use_cache=True)
        theirs = [out.logits]
        for t in range(6, 10):
            out = hf(ids[:, t : t + 1], use_cache=True, **{key: getattr(out, key)})
            theirs.append(out.logits)
    assert_close(ours, torch.cat(theirs, dim=1), f"[{name}] cached logits equal HF's cached logits",
                 atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_cached_greedy_generation_equals_huggingface_generate(name):
    sol, hf, model = tiny_pair(*CONFIGS[name])
    ids = torch.randint(0, 101, (2, 5))
    ours = sol.generate(model, ids, 24, use_cache=True)
    with torch.no_grad():
        theirs = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False,
                             num_beams=1)
    assert_equal(ours, theirs, f"[{name}] cached greedy generation equals HF's greedy generate")
    assert_equal(sol.generate(model, ids, 24, use_cache=False), ours,
                 f"[{name}] uncached generation gives the same tokens")


def test_tied_embeddings_checkpoint_matches_huggingface():
    sol = retreat.load_solution("llama")
    fields = dict(vocab_size=101, hidden_size=32, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=256,
                  tie_word_embeddings=True)
    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(**fields, attn_implementation="eager")).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model = sol.Llama(sol.LlamaConfig(**fields)).eval()
    model.load_state_dict(hf.state_dict(), strict=True)
    assert model.lm_head.weight is model.model.embed_tokens.weight, "the head stays tied after loading"
    ids = torch.randint(0, 101, (2, 9))
    with torch.no_grad():
        assert_close(model(ids), hf(ids).logits, "tied-embedding logits (and rms_norm_eps=1e-5) equal HF's",
                     atol=1e-5, rtol=1e-5)
