"""Checks for moe: a top-k routed mixture of SwiGLU experts (Mixtral's routing). The learner's code
always gets clones of the inputs; the expected values are computed from the untouched originals.
Either way of writing the weights (softmax over the top-k logits, or softmax, top-k, renormalise)
passes: the reference below is one of them and they agree to rounding."""

import torch
import torch.nn as nn

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("moe")
SwiGLU = retreat.load_exercise("rmsnorm-swiglu").SwiGLU

DIM, HIDDEN = 16, 24


def dense_reference(moe, x):
    """Every expert on every token, weighted by the renormalised top-k probabilities (0 elsewhere)."""
    flat = x.reshape(-1, x.shape[-1])
    probs = torch.softmax(flat @ moe.gate.weight.T, dim=-1)  # (N, E)
    top = probs.topk(moe.top_k, dim=-1).indices
    keep = torch.zeros_like(probs).scatter(1, top, 1.0)
    w = probs * keep
    w = w / w.sum(dim=-1, keepdim=True)
    y = sum(w[:, e : e + 1] * expert(flat) for e, expert in enumerate(moe.experts))
    return y.reshape(x.shape)


def test_layout_matches_mixtral():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    assert isinstance(moe.gate, nn.Linear) and moe.gate.bias is None, "gate is an nn.Linear without bias"
    assert_equal(tuple(moe.gate.weight.shape), (4, DIM), "gate maps dim -> n_experts")
    assert isinstance(moe.experts, nn.ModuleList), "experts is an nn.ModuleList"
    assert_equal(len(moe.experts), 4, "there are n_experts experts")
    assert all(isinstance(e, SwiGLU) for e in moe.experts), "each expert is your SwiGLU from rmsnorm-swiglu"


def test_sparse_dispatch_equals_dense_loop():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=8, top_k=2)
    x = torch.randn(3, 7, DIM)
    y, _ = moe(x.clone())
    assert_equal(tuple(y.shape), (3, 7, DIM), "the output has the input's shape")
    assert_close(y, dense_reference(moe, x), "dispatching tokens to their experts equals running every "
                 "expert on every token with the renormalised top-k weights (0 elsewhere)", atol=1e-5, rtol=1e-4)


def test_top_3_of_5_equals_dense_loop():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=5, top_k=3)
    x = torch.randn(40, DIM)
    assert_close(moe(x.clone())[0], dense_reference(moe, x), "top-3 of 5 experts equals the dense loop",
                 atol=1e-5, rtol=1e-4)


def test_one_expert_is_a_swiglu():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=1, top_k=1)
    x = torch.randn(2, 5, DIM)
    assert_close(moe(x.clone())[0], moe.experts[0](x), "with one expert and top_k = 1 the layer is that SwiGLU",
                 atol=1e-6, rtol=1e-5)


def test_all_experts_chosen_is_a_softmax_mixture():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=4)
    x = torch.randn(10, DIM)
    probs = torch.softmax(moe.gate(x), dim=-1)
    expected = sum(probs[:, e : e + 1] * expert(x) for e, expert in enumerate(moe.experts))
    assert_close(moe(x.clone())[0], expected, "with top_k = n_experts the output is the softmax-weighted sum "
                 "of all experts", atol=1e-5, rtol=1e-4)


def test_identical_experts_give_that_expert():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=6, top_k=2)
    for expert in moe.experts[1:]:
        expert.load_state_dict(moe.experts[0].state_dict())
    x = torch.randn(12, DIM)
    assert_close(moe(x.clone())[0], moe.experts[0](x), "when all experts are the same, the output is that "
                 "expert's: the top-k weights must be renormalised to sum to 1", atol=1e-5, rtol=1e-4)


def test_router_logits_are_the_gate_scores():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    x = torch.randn(2, 3, DIM)
    _, logits = moe(x.clone())
    assert_close(logits, x.reshape(6, DIM) @ moe.gate.weight.T, "router_logits are gate(x) for the "
                 "flattened tokens, shape (B*T, n_experts)")


def test_tokens_are_routed_independently():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    x = torch.randn(16, DIM)
    perm = torch.randperm(16)
    assert_close(moe(x[perm])[0], moe(x.clone())[0][perm], "shuffling the tokens shuffles the outputs the same way",
                 atol=1e-6, rtol=1e-5)


def test_each_expert_runs_once_on_the_tokens_that_picked_it():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=6, top_k=2)
    x = torch.randn(50, DIM)
    rows = {e: [] for e in range(6)}
    hooks = [expert.register_forward_hook(lambda mod, inp, out, e=e: rows[e].append(inp[0].reshape(-1, DIM).shape[0]))
             for e, expert in enumerate(moe.experts)]
    try:
        _, logits = moe(x.clone())
    finally:
        for h in hooks:
            h.remove()
    picked = torch.softmax(logits, -1).topk(2, dim=-1).indices
    for e in range(6):
        n_e = int((picked == e).any(-1).sum())
        expected = [n_e] if n_e else []
        assert_equal(rows[e], expected, f"expert {e} runs once, on exactly the {n_e} tokens that picked it "
                     "(dispatch by expert, not token by token, and never on tokens that did not pick it)")


def test_router_learns_and_unpicked_experts_get_no_gradient():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    with torch.no_grad():
        moe.gate.weight.copy_(torch.tensor([1.0, 0.5, -1.0, -1.0])[:, None].expand(4, DIM))
    x = torch.rand(20, DIM) + 0.1  # positive inputs: experts 0 and 1 always win
    y, _ = moe(x.clone())
    y.pow(2).sum().backward()
    g = moe.gate.weight.grad
    assert g is not None and g.abs().sum() > 0, "the router (gate) receives a gradient through the weights"
    for e in (2, 3):
        grad = moe.experts[e].up_proj.weight.grad
        assert grad is None or grad.abs().sum() == 0, f"expert {e}, picked by no token, gets no gradient"
    assert moe.experts[0].up_proj.weight.grad.abs().sum() > 0, "a picked expert gets a gradient"


def test_bfloat16_layer_returns_bfloat16():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    x = torch.randn(64, DIM)
    with torch.no_grad():
        moe.gate.weight.mul_(4.0)  # wide routing margins: bfloat16 rounding cannot change the top-k
    expected = dense_reference(moe, x)
    logits = x @ moe.gate.weight.T
    top3 = logits.topk(3, dim=-1).values
    clear = (top3[:, 1] - top3[:, 2]) > 0.5  # tokens whose top-2 cannot flip in bfloat16
    moe = moe.to(torch.bfloat16)
    y, router_logits = moe(x.to(torch.bfloat16))
    assert y.dtype == torch.bfloat16, f"a bfloat16 MoELayer on bfloat16 input returns bfloat16, got {y.dtype}"
    assert router_logits.dtype == torch.bfloat16, "router_logits are gate(x), in x's dtype"
    assert_close(y[clear].float(), expected[clear], "a bfloat16 MoELayer agrees with the float32 layer to "
                 "bfloat16 precision (cast the routing weights to x.dtype before mixing)", atol=0.1, rtol=0.05)


def test_input_is_left_unchanged():
    moe = ex.MoELayer(DIM, HIDDEN, n_experts=4, top_k=2)
    x = torch.randn(2, 9, DIM)
    given = x.clone()
    moe(given)
    assert_equal(given, x, "MoELayer never writes into its input")
