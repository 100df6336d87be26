"""Maintainers' oracle: the course's RoPE and its context-extension scalings agree with
HuggingFace transformers' Llama rotary embedding (tiny configs built in code, nothing downloaded)."""

import pytest
import torch

import retreat
from retreat.testing import assert_close

transformers = pytest.importorskip("transformers")
modeling_llama = pytest.importorskip("transformers.models.llama.modeling_llama")

rope = retreat.load_solution("rope")
ext = retreat.load_solution("context-extension")

CASES = [(32, 10000.0), (64, 500000.0), (128, 1000000.0), (16, 10000.0)]


def llama_config(head_dim, base, n_heads=4, max_positions=256, rope_parameters=None):
    params = {"rope_type": "default", "rope_theta": base, **(rope_parameters or {})}
    return transformers.LlamaConfig(hidden_size=head_dim * n_heads, num_attention_heads=n_heads,
                                    num_key_value_heads=n_heads, head_dim=head_dim,
                                    max_position_embeddings=max_positions, rope_parameters=params)


def hf_cos_sin(config, position_ids):
    rotary = modeling_llama.LlamaRotaryEmbedding(config)
    x = torch.zeros(1, dtype=torch.float32)
    return rotary(x, position_ids)


@pytest.mark.parametrize("head_dim,base", CASES)
def test_cos_sin_match_llama_rotary_embedding(head_dim, base):
    position_ids = torch.stack([torch.arange(50), torch.arange(50) + 1000])  # (B=2, T=50)
    cos_hf, sin_hf = hf_cos_sin(llama_config(head_dim, base), position_ids)
    cos, sin = rope.rope_cos_sin(position_ids, head_dim, base)
    assert_close(cos, cos_hf, f"rope_cos_sin's cos matches LlamaRotaryEmbedding (D={head_dim}, base={base:g})")
    assert_close(sin, sin_hf, f"rope_cos_sin's sin matches LlamaRotaryEmbedding (D={head_dim}, base={base:g})")


@pytest.mark.parametrize("head_dim,base", CASES)
def test_apply_rope_matches_apply_rotary_pos_emb(head_dim, base):
    B, H, T = 2, 3, 17
    q, k = torch.randn(2, B, H, T, head_dim).unbind(0)
    position_ids = torch.stack([torch.arange(T) + 5, torch.arange(T) + 300])
    cos_hf, sin_hf = hf_cos_sin(llama_config(head_dim, base), position_ids)
    q_hf, k_hf = modeling_llama.apply_rotary_pos_emb(q, k, cos_hf, sin_hf)
    cos, sin = rope.rope_cos_sin(position_ids, head_dim, base)
    assert_close(rope.apply_rope(q, cos, sin), q_hf, "apply_rope on queries matches apply_rotary_pos_emb")
    assert_close(rope.apply_rope(k, cos, sin), k_hf, "apply_rope on keys matches apply_rotary_pos_emb")
    # Shared positions: cos of shape (T, D) broadcasts over the batch.
    cos1, sin1 = rope.rope_cos_sin(position_ids[0], head_dim, base)
    q_hf1, _ = modeling_llama.apply_rotary_pos_emb(q, k, cos_hf[:1], sin_hf[:1])
    assert_close(rope.apply_rope(q, cos1, sin1), q_hf1, "apply_rope with (T, D) cos/sin matches HF")


def rope_init(kind):
    from transformers import modeling_rope_utils

    fns = getattr(modeling_rope_utils, "ROPE_INIT_FUNCTIONS", {})
    if kind not in fns:
        pytest.skip(f"this transformers has no {kind!r} rope init function")
    return fns[kind]


@pytest.mark.parametrize("head_dim,base", CASES)
@pytest.mark.parametrize("factor", [1.0, 2.0, 8.0])
def test_linear_scaling_matches_hf(head_dim, base, factor):
    config = llama_config(head_dim, base, rope_parameters={"rope_type": "linear", "factor": factor})
    inv_freq_hf, _ = rope_init("linear")(config)
    assert_close(ext.scaled_inv_freq(head_dim, base, factor, "linear"), inv_freq_hf.float(),
                 f"linear scaled_inv_freq matches HF's linear rope init (D={head_dim}, factor={factor})")


@pytest.mark.parametrize("head_dim,base", CASES)
@pytest.mark.parametrize("factor,seq_len", [(2.0, 100), (2.0, 256), (2.0, 512), (4.0, 1000), (8.0, 3000)])
def test_dynamic_scaling_matches_hf(head_dim, base, factor, seq_len):
    max_positions = 256
    config = llama_config(head_dim, base, max_positions=max_positions,
                          rope_parameters={"rope_type": "dynamic", "factor": factor})
    inv_freq_hf, _ = rope_init("dynamic")(config, seq_len=seq_len)
    s = ext.dynamic_scale(seq_len, max_positions, factor)
    assert_close(ext.scaled_inv_freq(head_dim, base, s, "dynamic"), inv_freq_hf.float(),
                 f"dynamic scaled_inv_freq with dynamic_scale(T={seq_len}, L={max_positions}, f={factor}) "
                 f"matches HF's dynamic rope init (D={head_dim})", rtol=1e-5, atol=1e-7)


def test_linear_cos_sin_equal_rope_at_squeezed_positions():
    head_dim, base, factor = 64, 10000.0, 4.0
    config = llama_config(head_dim, base, rope_parameters={"rope_type": "linear", "factor": factor})
    position_ids = torch.arange(0, 2048, 7)[None]
    cos_hf, sin_hf = hf_cos_sin(config, position_ids)
    cos, sin = rope.rope_cos_sin(position_ids / factor, head_dim, base)
    assert_close(cos, cos_hf, "HF linear rope equals course RoPE at positions / factor", atol=1e-5, rtol=1e-5)
    assert_close(sin, sin_hf, "HF linear rope equals course RoPE at positions / factor", atol=1e-5, rtol=1e-5)


def test_permuted_weights_with_hf_rotary_give_meta_scores():
    # Meta's reference code rotates neighbour pairs (2i, 2i+1) as complex numbers; HF rotates halves
    # with apply_rotary_pos_emb on weights permuted by the conversion script. Scores must agree.
    head_dim, base, H, T, d_in = 16, 10000.0, 4, 11, 40
    x = torch.randn(2, T, d_in, dtype=torch.float64)
    w_q, w_k = torch.randn(2, H * head_dim, d_in, dtype=torch.float64)
    positions = torch.arange(T)

    def heads(t):
        return t.view(2, T, H, head_dim).transpose(1, 2)

    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    freqs = torch.polar(torch.ones(T, head_dim // 2, dtype=torch.float64), positions[:, None] * theta)

    def meta_rotate(t):
        z = torch.view_as_complex(t.reshape(*t.shape[:-1], head_dim // 2, 2).contiguous()) * freqs
        return torch.view_as_real(z).flatten(-2)

    q_meta, k_meta = meta_rotate(heads(x @ w_q.T)), meta_rotate(heads(x @ w_k.T))
    cos_hf, sin_hf = hf_cos_sin(llama_config(head_dim, base), positions[None])
    q_hf, k_hf = modeling_llama.apply_rotary_pos_emb(heads(x @ rope.permute_for_half_split(w_q, H).T),
                                                     heads(x @ rope.permute_for_half_split(w_k, H).T),
                                                     cos_hf.double(), sin_hf.double())
    assert_close(q_hf @ k_hf.transpose(-2, -1), q_meta @ k_meta.transpose(-2, -1),
                 "HF's apply_rotary_pos_emb on permute_for_half_split weights gives Meta's attention scores "
                 "(HF's tables are float32)", atol=1e-4, rtol=1e-5)
