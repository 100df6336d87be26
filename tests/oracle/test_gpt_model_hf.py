"""Maintainers' oracle for gpt-model: a tiny random HuggingFace GPT-2 loads into the reference GPT
through load_hf_gpt2, and the logits agree. Needs transformers (skipped without it); no download."""

import pytest
import torch

import retreat
from retreat.testing import assert_close

transformers = pytest.importorskip("transformers")


def tiny_pair(V=97, T_max=32, C=48, n_heads=4, n_layers=2):
    sol = retreat.load_solution("gpt-model")
    hf_config = transformers.GPT2Config(vocab_size=V, n_positions=T_max, n_embd=C, n_layer=n_layers,
                                        n_head=n_heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                        bos_token_id=0, eos_token_id=0)
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():  # HF initialises biases to 0 and LayerNorms to 1: perturb them so they matter
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model = sol.GPT(sol.GPTConfig(vocab_size=V, context_length=T_max, d_model=C, n_heads=n_heads,
                                  n_layers=n_layers, dropout=0.0, qkv_bias=True)).eval()
    return hf, model


def test_tiny_hf_gpt2_logits_match():
    hf, model = tiny_pair()
    model.load_hf_gpt2(hf.state_dict())
    ids = torch.randint(0, 97, (2, 19))
    with torch.no_grad():
        assert_close(model(ids), hf(ids).logits, "logits of the reference GPT equal HF GPT2LMHeadModel's",
                     atol=1e-4, rtol=1e-4)


def test_bare_gpt2model_keys_load():
    hf, model = tiny_pair()
    bare = hf.transformer.state_dict()  # GPT2Model keys, without the "transformer." prefix
    model.load_hf_gpt2(bare)
    ids = torch.randint(0, 97, (1, 32))
    with torch.no_grad():
        assert_close(model(ids), hf(ids).logits, "GPT2Model keys (no prefix) load as well, full context",
                     atol=1e-4, rtol=1e-4)


def test_gpt2_small_parameter_count_matches_hf():
    sol = retreat.load_solution("gpt-model")
    with torch.device("meta"):
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config())
        model = sol.GPT(sol.GPTConfig())
    n_hf = sum(p.numel() for p in hf.parameters())
    n = sum(p.numel() for p in model.parameters())
    assert n == n_hf == 124_439_808, f"GPT-2 small: reference {n:,}, HF {n_hf:,}, expected 124,439,808"
