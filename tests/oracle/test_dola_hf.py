"""Maintainers' oracle: the dola reference on the hidden states HuggingFace returns.

HuggingFace's output_hidden_states gives L + 1 states whose last one has already been through
the model's final norm. early_exit_logits(..., last_is_normed=True) must then reproduce the
model's logits exactly, for GPT-2 (LayerNorm) and Llama (RMSNorm), with trained-looking norm gains.
"""

import pytest
import torch

import retreat
from retreat.testing import assert_close

transformers = pytest.importorskip("transformers")

sol = retreat.load_solution("dola")


def tiny(kind):
    torch.manual_seed(0)
    if kind == "gpt2":
        config = transformers.GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=3, n_head=2)
        model = transformers.GPT2LMHeadModel(config)
        norm = model.transformer.ln_f
    else:
        config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                          num_hidden_layers=3, num_attention_heads=2,
                                          num_key_value_heads=2, bos_token_id=0, eos_token_id=1)
        model = transformers.LlamaForCausalLM(config)
        norm = model.model.norm
    with torch.no_grad():
        for p in norm.parameters():  # gains far from 1: normalising twice would show
            p.copy_(torch.rand_like(p) * 1.5 + 0.25)
    return model.eval(), norm


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_last_hidden_state_is_not_normalised_twice(kind):
    model, norm = tiny(kind)
    ids = torch.randint(64, (2, 7))
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
        layer_logits = sol.early_exit_logits(out.hidden_states, norm, model.lm_head, last_is_normed=True)
        again = sol.early_exit_logits(out.hidden_states, norm, model.lm_head)
    assert layer_logits.shape == (4, 2, 7, 64), "HuggingFace returns L + 1 = 4 hidden states"
    assert_close(layer_logits[-1], out.logits, f"{kind}: with last_is_normed=True the last "
                 "readout is the model's own logits", atol=1e-5, rtol=1e-5)
    assert not torch.allclose(again[-1], out.logits, atol=1e-3), \
        f"{kind}: normalising HuggingFace's last hidden state a second time changes the logits"
