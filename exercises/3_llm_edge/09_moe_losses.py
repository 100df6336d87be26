"""Auxiliary losses that keep a mixture-of-experts router healthy.

A router left alone tends to collapse: a few experts get most tokens, learn faster, and attract
even more tokens. Two small losses, added to the language-model loss with small weights, push back:

- the load-balancing loss of Switch Transformers (arXiv 2101.03961, section 2.2, equation 4),
  in the top-k form HuggingFace's Mixtral implementation applies (its load_balancing_loss_func;
  the Mixtral paper, arXiv 2401.04088, describes no balancing loss). With f_e the fraction of
  tokens whose top-k includes expert e and P_e the mean router probability of expert e,

      load_balancing_loss = E * sum_e f_e * P_e

  Switch routes each token to one expert (k = 1), so there sum_e f_e = 1; counting all k picks
  makes sum_e f_e = top_k. The loss equals top_k when the router is perfectly balanced and grows
  towards E as the router collapses onto a few experts. Gradients flow through P (f is a count).
  This is the one formula the tests pin: not divided by top_k, P over all experts.

- the router z-loss (ST-MoE, arXiv 2202.08906, section 3.3, equation 5): the mean over tokens
  of logsumexp(logits)^2, which keeps router logits small so the softmax stays numerically tame.

Both take router logits of shape (..., n_experts): every leading dimension counts as a token.
"""

import torch


def load_balancing_loss(router_logits: torch.Tensor, n_experts: int, top_k: int) -> torch.Tensor:
    """Switch Transformers' load-balancing loss in HuggingFace's top-k form, a scalar:
    n_experts * sum_e f_e * P_e.

    router_logits: (..., n_experts), the gate's raw scores for each token.
    f_e: the fraction of tokens that picked expert e among their top_k (so sum_e f_e == top_k).
    P_e: the router probability of expert e (softmax over experts), averaged over tokens.
    """
    # TODO: flatten to (N, E); take the softmax over experts; pick each token's top_k experts;
    #       f = how many tokens picked each expert / N (one_hot the picks and average);
    #       P = the mean probability per expert; the loss is E times the sum of f * P.
    raise NotImplementedError


def router_z_loss(router_logits: torch.Tensor) -> torch.Tensor:
    """ST-MoE's router z-loss, a scalar: the mean over tokens of logsumexp(logits over experts)^2.

    router_logits: (..., n_experts).
    """
    # TODO: logsumexp over the last (experts) axis, square it, average over all tokens.
    raise NotImplementedError
