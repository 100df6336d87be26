"""A sparse Mixture-of-Experts feed-forward layer, routed as in Mixtral.

A dense Llama layer sends every token through one SwiGLU block. An MoE layer holds E SwiGLU
"experts" and a router (`gate`, a bias-free linear layer) that scores them for each token; only
the top_k experts run on a token, so the layer has E times the parameters at roughly top_k
times the compute. Mixtral of Experts (arXiv 2401.04088) routes each token x like this:

    router_logits = gate(x)                                  (E,)
    idx           = the top_k experts by router_logits
    w             = softmax(router_logits[idx])              over the k kept logits only
    y             = sum_j  w_j * experts[idx_j](x)

(the paper's equation 2, and Mistral's reference code). HuggingFace's Mixtral writes the same
weights another way: softmax over ALL experts, keep the top_k probabilities, divide them by
their sum. The two are equal, because softmax is monotonic (the same k experts win) and
renormalising the kept probabilities cancels the normaliser of the full softmax:
exp(l_i) / sum_j exp(l_j) over j in the top k either way. Either is accepted; the weights of a
token's k experts sum to 1.

Mathematically y is a sum over all experts with zero weight outside the top k (the "dense"
view); the whole point is never to run an expert on tokens that did not pick it. Dispatch by
expert: for each expert, gather the tokens that chose it, run the expert once on that batch,
and add its weighted outputs back at those tokens' rows.

Dtypes: compute the routing weights in float32 if you like, but cast them to x.dtype before
mixing: y has x's dtype (a bfloat16 layer returns bfloat16), and router_logits are gate(x).
x is never modified. The experts are the SwiGLU you wrote in rmsnorm-swiglu.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401 (F.softmax is yours to call)

import retreat

SwiGLU = retreat.load_exercise("rmsnorm-swiglu").SwiGLU


class MoELayer(nn.Module):
    """Top-k routed mixture of SwiGLU experts: (..., dim) -> ((..., dim), (N, n_experts))."""

    def __init__(self, dim: int, hidden_dim: int, n_experts: int, top_k: int):
        super().__init__()
        assert 1 <= top_k <= n_experts, "top_k must be between 1 and n_experts"
        self.n_experts = n_experts
        self.top_k = top_k
        self.gate = nn.Linear(dim, n_experts, bias=False)  # the router
        self.experts = nn.ModuleList(SwiGLU(dim, hidden_dim) for _ in range(n_experts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (..., dim). Returns (y, router_logits).

        y: shaped like x. router_logits: (N, n_experts), the gate's scores for the N tokens of x
        flattened in order (as Mixtral returns them, ready for the load-balancing loss).
        """
        shape = x.shape
        x = x.reshape(-1, shape[-1])  # (N, C)
        router_logits = self.gate(x)  # (N, E)
        # TODO: the top_k experts of each token go in `chosen` (N, k) and their weights in
        #       `weights` (N, k): softmax over the k kept logits, or softmax over all experts
        #       then top_k then divide by the sum (the same numbers). Cast them to x.dtype.
        raise NotImplementedError
        y = torch.zeros_like(x)  # (N, C)
        # TODO: dispatch by expert: for each expert e, find the (token, slot) pairs where
        #       chosen == e, run the expert once on those tokens, scale each output by its
        #       weight, and add it into y at those tokens' rows (index_add_).
        raise NotImplementedError
        return y.reshape(shape), router_logits
