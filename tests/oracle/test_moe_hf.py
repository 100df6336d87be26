"""Maintainers' oracle for moe and moe-losses: HuggingFace's Mixtral sparse MoE block and its
load-balancing loss, built from a tiny random config. Needs transformers; nothing is downloaded."""

import pytest
import torch

import retreat
from retreat.testing import assert_close

transformers = pytest.importorskip("transformers")
mixtral = pytest.importorskip("transformers.models.mixtral.modeling_mixtral")


def tiny_block(C=32, hidden=48, n_experts=8, top_k=2):
    config = transformers.MixtralConfig(hidden_size=C, intermediate_size=hidden, num_local_experts=n_experts,
                                        num_experts_per_tok=top_k, router_jitter_noise=0.0)
    block = mixtral.MixtralSparseMoeBlock(config).eval()
    with torch.no_grad():
        for p in block.parameters():
            p.normal_(0.0, 0.2)
    return block


def load_into_solution(block, C, hidden, n_experts, top_k):
    moe = retreat.load_solution("moe").MoELayer(C, hidden, n_experts, top_k).eval()
    with torch.no_grad():
        moe.gate.weight.copy_(block.gate.weight)
        for e, expert in enumerate(moe.experts):
            gate_up = block.experts.gate_up_proj[e]  # (2 * hidden, C): gate rows, then up rows
            expert.gate_proj.weight.copy_(gate_up[:hidden])
            expert.up_proj.weight.copy_(gate_up[hidden:])
            expert.down_proj.weight.copy_(block.experts.down_proj[e])
    return moe


@pytest.mark.parametrize("n_experts,top_k", [(8, 2), (4, 1), (6, 3)])
def test_moe_layer_matches_mixtral_block(n_experts, top_k):
    C, hidden = 32, 48
    block = tiny_block(C, hidden, n_experts, top_k)
    moe = load_into_solution(block, C, hidden, n_experts, top_k)
    x = torch.randn(3, 11, C)
    with torch.no_grad():
        y, logits = moe(x)
        hf_logits, _, _ = block.gate(x.reshape(-1, C))
        assert_close(y, block(x), "MoELayer output equals MixtralSparseMoeBlock's", atol=1e-5, rtol=1e-4)
    assert_close(logits, hf_logits, "router logits equal Mixtral's router logits (B*T, E)")


@pytest.mark.parametrize("n_experts,top_k", [(8, 2), (4, 1), (6, 3)])
def test_load_balancing_loss_matches_mixtral(n_experts, top_k):
    losses = retreat.load_solution("moe-losses")
    logits = torch.randn(64, n_experts) * 2
    assert_close(losses.load_balancing_loss(logits, n_experts, top_k),
                 mixtral.load_balancing_loss_func((logits,), n_experts, top_k),
                 "load_balancing_loss equals transformers' Mixtral load_balancing_loss_func")
