"""Checks for gpt-model: a GPT-2 written as plain functions over a HuggingFace-format state dict is
the oracle (so no transformers install is needed), plus parameter counts and causality. Every call
hands the learner copies of its inputs (support/untouched.py)."""

import dataclasses
import math

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("gpt-model")
untouched = retreat.load_support("untouched")

TINY = dict(vocab_size=97, context_length=16, d_model=32, n_heads=4, n_layers=2, dropout=0.0, qkv_bias=True)


def hf_gpt2_state_dict(V, T_max, C, L, generator):
    """A random state dict with the keys and shapes of HF GPT2LMHeadModel (Conv1D: (in, out))."""
    def rnd(*shape, scale=0.1):
        return torch.randn(*shape, generator=generator) * scale

    sd = {"transformer.wte.weight": rnd(V, C, scale=0.5), "transformer.wpe.weight": rnd(T_max, C, scale=0.5)}
    for i in range(L):
        p = f"transformer.h.{i}."
        sd.update({
            p + "ln_1.weight": 1 + rnd(C), p + "ln_1.bias": rnd(C),
            p + "attn.c_attn.weight": rnd(C, 3 * C, scale=0.3), p + "attn.c_attn.bias": rnd(3 * C),
            p + "attn.c_proj.weight": rnd(C, C, scale=0.3), p + "attn.c_proj.bias": rnd(C),
            p + "ln_2.weight": 1 + rnd(C), p + "ln_2.bias": rnd(C),
            p + "mlp.c_fc.weight": rnd(C, 4 * C, scale=0.3), p + "mlp.c_fc.bias": rnd(4 * C),
            p + "mlp.c_proj.weight": rnd(4 * C, C, scale=0.3), p + "mlp.c_proj.bias": rnd(C),
            p + "attn.bias": torch.ones(1, 1, T_max, T_max).tril(),  # older HF versions keep a mask buffer
        })
    sd.update({"transformer.ln_f.weight": 1 + rnd(C), "transformer.ln_f.bias": rnd(C)})
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    return sd


def gpt2_reference(sd, ids, n_heads, n_layers):
    """GPT-2's forward pass written directly against the HF state dict."""
    B, T = ids.shape
    C = sd["transformer.wte.weight"].shape[1]

    def ln(x, name):
        return F.layer_norm(x, (C,), sd[name + ".weight"], sd[name + ".bias"], eps=1e-5)

    def conv1d(x, name):  # HF's Conv1D: x @ W + b with W of shape (in, out)
        return x @ sd[name + ".weight"] + sd[name + ".bias"]

    x = sd["transformer.wte.weight"][ids] + sd["transformer.wpe.weight"][:T]
    for i in range(n_layers):
        p = f"transformer.h.{i}."
        q, k, v = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(B, T, n_heads, C // n_heads).transpose(1, 2) for t in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(a, p + "attn.c_proj")
        h = F.gelu(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc"), approximate="tanh")
        x = x + conv1d(h, p + "mlp.c_proj")
    return ln(x, "transformer.ln_f") @ sd["transformer.wte.weight"].T


def test_config_fields_and_gpt2_small_defaults():
    names = [f.name for f in dataclasses.fields(ex.GPTConfig)]
    assert names == ["vocab_size", "context_length", "d_model", "n_heads", "n_layers", "dropout", "qkv_bias"], (
        f"GPTConfig has the fields vocab_size, context_length, d_model, n_heads, n_layers, dropout, "
        f"qkv_bias in that order; got {names}")
    c = ex.GPTConfig()
    assert (c.vocab_size, c.context_length, c.d_model, c.n_heads, c.n_layers) == (50257, 1024, 768, 12, 12), (
        "GPTConfig() defaults are GPT-2 small: 50257 tokens, 1024 positions, width 768, 12 heads, 12 layers")


def test_logits_shape():
    model = ex.GPT(ex.GPTConfig(**TINY)).eval()
    logits = untouched.call(model, torch.randint(0, 97, (3, 10)))
    assert tuple(logits.shape) == (3, 10, 97), (
        f"logits have shape (B, T, vocab_size) = (3, 10, 97), got {tuple(logits.shape)}")


def test_hf_gpt2_weights_load_and_logits_match():
    g = torch.Generator().manual_seed(1)
    sd = hf_gpt2_state_dict(97, 16, 32, 2, g)
    model = ex.GPT(ex.GPTConfig(**TINY)).eval()
    returned = untouched.call(model.load_hf_gpt2, sd)  # also checks the state dict is left as it was
    assert returned is model, "load_hf_gpt2 returns the model itself"
    ids = torch.randint(0, 97, (2, 12), generator=g)
    with torch.no_grad():
        assert_close(untouched.call(model, ids), gpt2_reference(sd, ids, n_heads=4, n_layers=2),
                     "after load_hf_gpt2, the logits equal GPT-2's on the same weights "
                     "(HF Conv1D weights are transposed; c_attn holds q, k, v side by side)",
                     atol=1e-4, rtol=1e-4)


def test_keys_without_transformer_prefix_load_too():
    g = torch.Generator().manual_seed(2)
    sd = hf_gpt2_state_dict(97, 16, 32, 2, g)
    bare = {k.removeprefix("transformer."): v for k, v in sd.items()}
    a, b = ex.GPT(ex.GPTConfig(**TINY)).eval(), ex.GPT(ex.GPTConfig(**TINY)).eval()
    untouched.call(a.load_hf_gpt2, sd)
    untouched.call(b.load_hf_gpt2, bare)
    ids = torch.randint(0, 97, (1, 8), generator=g)
    with torch.no_grad():
        assert_equal(untouched.call(b, ids), untouched.call(a, ids),
                     "keys without the 'transformer.' prefix (as GPT2Model saves them) load the same")


def test_gpt2_small_parameter_count():
    with torch.device("meta"):  # shapes only: no memory is allocated
        model = ex.GPT(ex.GPTConfig())
    n = sum(p.numel() for p in model.parameters())  # a tied weight is counted once
    assert n == 124_439_808, f"GPT-2 small (tied head) has 124,439,808 parameters, found {n:,}"


def test_parameter_count_formula():
    V, T, C, L = 97, 16, 32, 2
    model = ex.GPT(ex.GPTConfig(**TINY))
    expected = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    n = sum(p.numel() for p in model.parameters())
    assert n == expected, (
        f"V*C + T*C + L*(12*C^2 + 13*C) + 2*C = {expected} parameters (embeddings, blocks, ln_f; "
        f"the head is tied), found {n}")
    assert model.lm_head.weight is model.emb.tok_emb.weight, "lm_head.weight is the token embedding (tied)"


def test_changing_token_t_never_changes_logits_before_t():
    model = ex.GPT(ex.GPTConfig(**TINY)).eval()
    ids = torch.randint(0, 97, (1, 12))
    t = 7
    ids2 = ids.clone()
    ids2[0, t] = (ids[0, t] + 1) % 97
    with torch.no_grad():
        out, out2 = untouched.call(model, ids), untouched.call(model, ids2)
    assert_equal(out2[:, :t], out[:, :t], f"logits before position {t} did not change when token {t} changed")
    assert not torch.allclose(out2[:, t], out[:, t]), f"the logits at position {t} depend on token {t}"


def test_dropout_only_in_training_mode():
    model = ex.GPT(ex.GPTConfig(**{**TINY, "dropout": 0.5}))
    ids = torch.randint(0, 97, (2, 8))
    with torch.no_grad():
        model.eval()
        assert_equal(untouched.call(model, ids), untouched.call(model, ids), "in eval mode the model is deterministic")
        model.train()
        assert not torch.allclose(untouched.call(model, ids), untouched.call(model, ids)), \
            "in train mode, with dropout=0.5, two passes differ"


def test_loaded_weights_are_the_models_own():
    g = torch.Generator().manual_seed(3)
    sd = hf_gpt2_state_dict(97, 16, 32, 2, g)
    mine = {k: v.clone() for k, v in sd.items()}  # the learner's copy
    model = ex.GPT(ex.GPTConfig(**TINY))
    model.load_hf_gpt2(mine)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # what an optimizer step does
    for k in sd:
        assert_equal(mine[k], sd[k], f"changing the model after loading leaves the state dict alone "
                     f"(copy the values into the parameters; {k} changed)")


def test_residual_projections_start_scaled_down():
    # GPT-2, section 2.3: residual layers start with weights scaled by 1/sqrt(N), N = 2 * n_layers.
    config = ex.GPTConfig(**{**TINY, "d_model": 64, "n_layers": 4})
    model = ex.GPT(config)
    residual = torch.cat([w.detach().flatten() for b in model.blocks for w in (b.attn.out_proj.weight,
                                                                               b.mlp.proj.weight)])
    others = torch.cat([w.detach().flatten() for b in model.blocks for w in (b.attn.qkv_proj.weight,
                                                                             b.mlp.fc.weight)])
    target = 0.02 / math.sqrt(2 * config.n_layers)
    assert abs(float(residual.std()) / target - 1) < 0.05, (
        f"attn.out_proj and mlp.proj start with std 0.02 / sqrt(2 * n_layers) = {target:.4f}; "
        f"got {float(residual.std()):.4f}")
    assert abs(float(others.std()) / 0.02 - 1) < 0.05, (
        f"the other linear weights start with std 0.02; got {float(others.std()):.4f}")
