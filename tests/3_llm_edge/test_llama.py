"""Checks for llama: HuggingFace names and shapes, the forward pass against a reference computed
here from the model's own weights, the KV cache, causality, grouped-query attention and bfloat16.
The learner's code always gets clones of the inputs; the expected values are computed from the
untouched originals."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("llama")


def tiny_config(**overrides):
    fields = dict(vocab_size=97, hidden_size=32, intermediate_size=56, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=10000.0,
                  max_position_embeddings=128, tie_word_embeddings=False)
    fields.update(overrides)
    return ex.LlamaConfig(**fields)


def build(config):
    model = ex.Llama(config).eval()
    with torch.no_grad():  # norm gains away from 1, so that a skipped gain shows
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return model


def hf_names_and_shapes(config):
    """LlamaForCausalLM's state_dict, written out: name -> shape."""
    C, I, V = config.hidden_size, config.intermediate_size, config.vocab_size
    hs = C // config.num_attention_heads
    q_out, kv_out = config.num_attention_heads * hs, config.num_key_value_heads * hs
    names = {"model.embed_tokens.weight": (V, C)}
    for i in range(config.num_hidden_layers):
        p = f"model.layers.{i}."
        names.update({
            p + "self_attn.q_proj.weight": (q_out, C),
            p + "self_attn.k_proj.weight": (kv_out, C),
            p + "self_attn.v_proj.weight": (kv_out, C),
            p + "self_attn.o_proj.weight": (C, q_out),
            p + "mlp.gate_proj.weight": (I, C),
            p + "mlp.up_proj.weight": (I, C),
            p + "mlp.down_proj.weight": (C, I),
            p + "input_layernorm.weight": (C,),
            p + "post_attention_layernorm.weight": (C,),
        })
    names.update({"model.norm.weight": (C,), "lm_head.weight": (V, C)})
    return names


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate(x, theta):
    """RoPE, half-split layout, positions 0..T-1: x (B, H, T, D)."""
    T, D = x.shape[-2:]
    inv_freq = theta ** (-torch.arange(0, D, 2, dtype=torch.float32) / D)
    angles = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq
    cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def reference_logits(model, ids):
    """Llama's forward pass from the state dict, with torch's own attention."""
    cfg, sd = model.config, model.state_dict()
    B, T = ids.shape
    H, G = cfg.num_attention_heads, cfg.num_key_value_heads
    hs = cfg.hidden_size // H
    x = sd["model.embed_tokens.weight"][ids]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        a = rms_norm(x, sd[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        q = (a @ sd[p + "self_attn.q_proj.weight"].T).view(B, T, H, hs).transpose(1, 2)
        k = (a @ sd[p + "self_attn.k_proj.weight"].T).view(B, T, G, hs).transpose(1, 2)
        v = (a @ sd[p + "self_attn.v_proj.weight"].T).view(B, T, G, hs).transpose(1, 2)
        q, k = rotate(q, cfg.rope_theta), rotate(k, cfg.rope_theta)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + o.transpose(1, 2).reshape(B, T, H * hs) @ sd[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, sd[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        gated = F.silu(m @ sd[p + "mlp.gate_proj.weight"].T) * (m @ sd[p + "mlp.up_proj.weight"].T)
        x = x + gated @ sd[p + "mlp.down_proj.weight"].T
    return rms_norm(x, sd["model.norm.weight"], cfg.rms_norm_eps) @ sd["lm_head.weight"].T


class RecordingCache:
    """A KV cache written here, which records the shapes the model stores."""

    def __init__(self):
        self.keys, self.values, self.stored_shapes = [], [], []

    @property
    def length(self):
        return self.keys[0].shape[-2] if self.keys else 0

    def update(self, layer, k, v):
        self.stored_shapes.append(tuple(k.shape))
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=-2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=-2)
        return self.keys[layer], self.values[layer]


def test_config_has_huggingface_fields_and_defaults():
    cfg = ex.LlamaConfig()
    expected = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=32, rms_norm_eps=1e-6, rope_theta=10000.0,
                    max_position_embeddings=2048, tie_word_embeddings=False)
    assert_equal({k: getattr(cfg, k) for k in expected}, expected,
                  "LlamaConfig has HuggingFace's field names and Llama-7B defaults")


def test_state_dict_names_and_shapes_match_huggingface():
    for cfg in (tiny_config(), tiny_config(num_hidden_layers=3, num_attention_heads=8, num_key_value_heads=1)):
        got = {name: tuple(t.shape) for name, t in ex.Llama(cfg).state_dict().items()}
        assert_equal(sorted(got.items()), sorted(hf_names_and_shapes(cfg).items()),
                     "state_dict() names and shapes are exactly LlamaForCausalLM's")


def test_zero_layers_is_embed_norm_head():
    cfg = tiny_config(num_hidden_layers=0)
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (2, 7))
    x = model.model.embed_tokens.weight[ids]
    expected = rms_norm(x, model.model.norm.weight, cfg.rms_norm_eps) @ model.lm_head.weight.T
    with torch.no_grad():
        assert_close(model(ids.clone()), expected, "with no layers the model is embed_tokens -> norm -> lm_head",
                     atol=1e-5, rtol=1e-5)


def test_multi_head_model_matches_reference():
    cfg = tiny_config(num_attention_heads=4, num_key_value_heads=4)
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (2, 11))
    with torch.no_grad():
        assert_close(model(ids.clone()), reference_logits(model, ids), "with n_kv_heads == n_heads the logits equal "
                     "a pre-norm RoPE transformer computed with F.scaled_dot_product_attention",
                     atol=1e-5, rtol=1e-4)


def test_grouped_query_model_matches_reference():
    for heads, kv_heads, theta, eps in [(4, 2, 10000.0, 1e-6), (8, 1, 500000.0, 1e-6), (4, 1, 1000.0, 0.3)]:
        cfg = tiny_config(num_attention_heads=heads, num_key_value_heads=kv_heads, rope_theta=theta, rms_norm_eps=eps)
        model = build(cfg)
        ids = torch.randint(0, cfg.vocab_size, (2, 13))
        with torch.no_grad():
            assert_close(model(ids.clone()), reference_logits(model, ids), f"GQA ({heads} query heads, {kv_heads} kv "
                         f"heads, rope_theta={theta:g}, rms_norm_eps={eps:g}) matches the reference",
                         atol=1e-5, rtol=1e-4)


def test_cached_logits_equal_full_forward():
    cfg = tiny_config()
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (2, 12))
    cache = ex.KVCache()
    with torch.no_grad():
        full = model(ids.clone())
        parts = [model(ids[:, :5].clone(), cache=cache)]  # prefill
        parts += [model(ids[:, t : t + 1].clone(), cache=cache) for t in range(5, 9)]  # one token at a time
        parts.append(model(ids[:, 9:].clone(), cache=cache))  # a chunk of 3
    assert_close(torch.cat(parts, dim=1), full, "prefill, then single tokens, then a chunk through the "
                 "cache give the logits of one full pass", atol=1e-5, rtol=1e-4)
    assert_equal(cache.length, 12, "the cache holds every token fed")


def test_cached_generation_equals_uncached():
    cfg = tiny_config(num_hidden_layers=3)
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (2, 6))
    cached = ex.generate(model, ids.clone(), 20, use_cache=True)
    uncached = ex.generate(model, ids.clone(), 20, use_cache=False)
    assert_equal(tuple(cached.shape), (2, 26), "generate returns the prompt and max_new_tokens tokens")
    assert_equal(cached, uncached, "greedy generation with the KV cache gives exactly the tokens of "
                 "generation without it")


def test_cache_stores_key_value_heads_not_query_heads():
    cfg = tiny_config(num_attention_heads=8, num_key_value_heads=2)
    model = build(cfg)
    cache = RecordingCache()
    with torch.no_grad():
        model(torch.randint(0, cfg.vocab_size, (3, 5)), cache=cache)
        model(torch.randint(0, cfg.vocab_size, (3, 1)), cache=cache)
    hs = cfg.hidden_size // 8
    assert_equal(cache.stored_shapes, [(3, 2, 5, hs)] * 2 + [(3, 2, 1, hs)] * 2,
                 "each layer caches (B, n_kv_heads, T_new, head_dim): keys are repeated to the query "
                 "heads only after caching")


def test_future_tokens_do_not_leak():
    cfg = tiny_config()
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (1, 10))
    changed = ids.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % cfg.vocab_size
    with torch.no_grad():
        assert_close(model(changed.clone())[:, :6], model(ids.clone())[:, :6], "changing tokens from position 6 on "
                     "never changes the logits before position 6", atol=1e-6, rtol=1e-6)


def test_batch_rows_are_independent():
    cfg = tiny_config()
    model = build(cfg)
    ids = torch.randint(0, cfg.vocab_size, (3, 8))
    with torch.no_grad():
        together = model(ids.clone())
        alone = torch.cat([model(ids[b : b + 1].clone()) for b in range(3)])
    assert_close(together, alone, "each sequence of a batch gets the logits it would get alone",
                 atol=1e-5, rtol=1e-5)


def test_tied_embeddings_share_one_matrix():
    model = ex.Llama(tiny_config(tie_word_embeddings=True))
    assert model.lm_head.weight is model.model.embed_tokens.weight, \
        "with tie_word_embeddings, lm_head.weight is embed_tokens.weight (one shared Parameter)"
    untied = ex.Llama(tiny_config())
    assert untied.lm_head.weight is not untied.model.embed_tokens.weight, \
        "without tie_word_embeddings, lm_head has its own weight"


def test_loads_a_checkpoint_with_huggingface_names():
    cfg = tiny_config(num_attention_heads=8, num_key_value_heads=2, rope_theta=500000.0)
    g = torch.Generator().manual_seed(5)
    checkpoint = {name: torch.randn(shape, generator=g) * 0.2 for name, shape in hf_names_and_shapes(cfg).items()}
    for name in checkpoint:
        if name.endswith("norm.weight"):
            checkpoint[name] = 1 + checkpoint[name]
    model = ex.Llama(cfg).eval()
    model.load_state_dict(checkpoint, strict=True)
    ids = torch.randint(0, cfg.vocab_size, (2, 9))
    with torch.no_grad():
        assert_close(model(ids.clone()), reference_logits(model, ids), "a checkpoint written with HuggingFace's "
                     "names loads with strict=True and gives the reference logits", atol=1e-5, rtol=1e-4)


def test_a_bfloat16_model_runs_in_bfloat16():
    # A real checkpoint is loaded in bfloat16: every piece must keep that dtype (norms cast back,
    # RoPE tables cast to the queries' dtype) and agree with float32 to bfloat16 precision.
    cfg = tiny_config()
    model = build(cfg).to(torch.bfloat16)
    reference = build(cfg)
    reference.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    ids = torch.randint(0, cfg.vocab_size, (2, 9))
    cache = ex.KVCache()
    with torch.no_grad():
        logits = model(ids.clone())
        cached = torch.cat([model(ids[:, :6].clone(), cache=cache), model(ids[:, 6:7].clone(), cache=cache),
                            model(ids[:, 7:].clone(), cache=cache)], dim=1)
        expected = reference(ids.clone())
    assert logits.dtype == torch.bfloat16, f"a bfloat16 Llama returns bfloat16 logits, got {logits.dtype}"
    assert cached.dtype == torch.bfloat16 and cache.keys[0].dtype == torch.bfloat16, \
        "with a cache, a bfloat16 Llama still returns bfloat16 and caches bfloat16 keys"
    assert_close(logits.float(), expected, "bfloat16 logits agree with the same weights in float32 to "
                 "bfloat16 precision", atol=0.15, rtol=0.05)
    assert_close(cached.float(), expected, "bfloat16 logits through the cache agree with float32",
                 atol=0.15, rtol=0.05)
