"""DoLa: decoding by contrasting layers, so that the model's late factual knowledge wins.

DoLa (Chuang et al., "DoLa: Decoding by Contrasting Layers Improves Factuality in Large
Language Models", arXiv 2309.03883) needs only one model. Its early layers play the amateur
of contrastive decoding. Read out every layer through the model's own LM head ("early exit"):
early layers already predict the syntax and the obvious tokens, and facts tend to appear only
in the late layers. Contrasting the final layer with an early one brings out what the late
layers added.

1. Early exit. hidden_states holds the residual stream after the embeddings (index 0) and
   after each of the L blocks (index L), before the final norm:

       layer_logits[l] = lm_head(final_norm(hidden_states[l]))        l = 0..L

   Every layer goes through the final norm here (the "logit lens" reading), so all L + 1
   readouts are on the same footing. HuggingFace's output_hidden_states=True returns L + 1
   tensors too, but its LAST one has already been through the final norm (the model applies
   the norm, then records the state); applying the norm again to it is wrong, and with a norm
   that has learned gains it changes the logits. Pass last_is_normed=True for such states: the
   last one then only goes through lm_head. (The DoLa authors' code, and HuggingFace's DoLa
   decoding, apply lm_head to the premature layers without any norm; this exercise normalises
   them.)

2. Pick the premature layer, separately at each position: the candidate layer whose next-token
   distribution is the most different from the final layer's, by the Jensen-Shannon
   divergence, with P = softmax(p_logits), Q = softmax(q_logits), M = (P + Q) / 2:

       JSD(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M)      (natural log; 0 <= JSD <= log 2)

3. Score as contrastive decoding does, with the final layer as the expert and the premature
   layer as the amateur: log p_final - log p_premature on the final layer's plausible head
   (p_final >= alpha * max p_final), -inf elsewhere. You wrote that in contrastive-decoding;
   it is loaded below.

Results keep the dtype of their inputs, and no function changes its inputs. On the course's
synthetic world (support/hallucination_world.py) a small transformer gives the hidden states:

    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()
    hidden = model.hidden_states(hw.question_ids(world))     # 4 x (200, 3, 32), before ln_f
    layer_logits = early_exit_logits(hidden, model.ln_f, model.lm_head)[:, :, -1]  # the city
    scores, premature = dola_scores(layer_logits, [0, 1, 2])

Your task: write early_exit_logits, jensen_shannon and dola_scores.
"""

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

import retreat

cd = retreat.load_exercise("contrastive-decoding")  # your contrastive_scores


def early_exit_logits(hidden_states: Sequence[torch.Tensor] | torch.Tensor,
                      final_norm: Callable[[torch.Tensor], torch.Tensor],
                      lm_head: Callable[[torch.Tensor], torch.Tensor],
                      last_is_normed: bool = False) -> torch.Tensor:
    """The next-token logits each layer would give if the model stopped there.

    hidden_states: L+1 tensors (B, T, D) (a list, a tuple or one tensor (L+1, B, T, D)): the
        residual stream after the embeddings and after each block, before the final norm.
    final_norm: the model's final normalisation, (..., D) -> (..., D).
    lm_head: the model's output projection, (..., D) -> (..., V).
    last_is_normed: True when hidden_states[-1] has already been through final_norm, as the
        hidden states of a HuggingFace model (output_hidden_states=True) are: then the last
        one goes through lm_head only.
    Returns (L+1, B, T, V); the last entry is the model's own output logits.
    """
    # TODO: apply the final norm, then the LM head, to every layer's hidden state, except the
    #       norm on the last one when last_is_normed; stack them.
    raise NotImplementedError


def jensen_shannon(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between softmax(p_logits) and softmax(q_logits), natural log.

    p_logits, q_logits: (..., V), broadcastable against each other; entries may be -inf
        (probability 0; 0 * log 0 counts as 0).
    Returns (...), the divergence over the last axis: symmetric, 0 for equal inputs, at most log 2.
    """
    # TODO: take log-softmax of both; log M = logsumexp of the two log-probabilities - log 2;
    #       KL(P || M) = sum P (log P - log M) over the last axis, with terms where P = 0 set
    #       to 0 (0 * -inf is NaN); return the average of the two KLs.
    raise NotImplementedError


def dola_scores(layer_logits: torch.Tensor, candidate_layers: Sequence[int],
                alpha: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """DoLa's next-token scores, with the premature layer chosen dynamically per position.

    layer_logits: (L+1, ..., V) from early_exit_logits; the last layer is the mature one.
    candidate_layers: the indices of the layers that may serve as premature layer (e.g. the
        first half of the layers), each in 0..L-1.
    alpha: the plausibility threshold, as in contrastive decoding.
    Returns (scores, premature):
        scores (..., V): log p_final - log p_premature on the final layer's plausible head,
            -inf elsewhere;
        premature (...) long: at each position, the layer index (from candidate_layers) with
            the largest JSD to the final layer (the first such in candidate_layers if tied).
    """
    # TODO: compute the JSD of every candidate layer against the final layer (shape (C, ...)),
    #       take the argmax over candidates at each position, gather those logits, and score
    #       them with cd.contrastive_scores(final, premature_logits, alpha).
    raise NotImplementedError
