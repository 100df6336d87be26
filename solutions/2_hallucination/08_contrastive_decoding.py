"""Contrastive decoding: prefer what the expert knows and the amateur does not.

A large "expert" LM and a small "amateur" LM make many of the same mistakes: repetition,
generic continuations, the most popular answer. What the large model knows *beyond* the small
one shows up as the difference of their log-probabilities. Contrastive decoding (Li et al.,
"Contrastive Decoding: Open-ended Text Generation as Optimization", arXiv 2210.15097) picks
the next token by that difference:

    score(x) = log p_expert(x) - log p_amateur(x)        if x is plausible
    score(x) = -inf                                      otherwise

The difference alone would reward nonsense: a token both models find very unlikely can still
have a large ratio. So only the expert's plausible head competes, the tokens the expert
itself gives at least `alpha` times its top probability:

    plausible(x)  <=>  p_expert(x) >= alpha * max_w p_expert(w)

(This is the min-p rule applied to the expert; a token exactly at the threshold is plausible.)
Greedy contrastive decoding takes the argmax of the scores. The head may be found in log space or
in probability space, as you like; the scores keep the logits' dtype, and the function does not
change its inputs.

On the course's synthetic world (support/hallucination_world.py) the expert is the trained
transformer and the amateur the same training run stopped early, which knows which cities are
popular but not who was born where:

    hw = retreat.load_support("hallucination_world")
    world, expert = hw.pretrained()
    _, amateur = hw.pretrained_amateur()
    scores = contrastive_scores(hw.answer_logits(expert, world), hw.answer_logits(amateur, world))
    (scores.argmax(-1) == world.city_tokens[world.city]).float().mean()   # vs the expert's argmax

Your task: write contrastive_scores.
"""

import math

import torch
import torch.nn.functional as F


def contrastive_scores(expert_logits: torch.Tensor, amateur_logits: torch.Tensor,
                       alpha: float = 0.1) -> torch.Tensor:
    """Contrastive-decoding scores of every token.

    expert_logits, amateur_logits: (..., V) unnormalised logits of the two models for the same
        prefix (any leading shape, e.g. (V,), (B, V) or (B, T, V)).
    alpha: in (0, 1]; the plausible head is the set of tokens with expert probability
        >= alpha * the expert's top probability.
    Returns (..., V): log p_expert - log p_amateur on the plausible head, -inf elsewhere.
    """
    ### TODO: turn both logits into log-probabilities (log-softmax over the last axis),
    ###       find the expert's plausible head in log space (log p >= log alpha + max log p),
    ###       and return the difference there, -inf everywhere else.
    expert_logp = F.log_softmax(expert_logits, dim=-1)  # (..., V)
    amateur_logp = F.log_softmax(amateur_logits, dim=-1)  # (..., V)
    cutoff = expert_logp.amax(dim=-1, keepdim=True) + math.log(alpha)  # (..., 1)
    plausible = expert_logp >= cutoff  # (..., V)
    scores = expert_logp - amateur_logp
    return scores.masked_fill(~plausible, float("-inf"))
    ### END
