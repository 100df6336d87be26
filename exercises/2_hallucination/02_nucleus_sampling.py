"""Nucleus (top-p) sampling, min-p sampling and the repetition penalty.

Sampling from the full distribution lets the long tail of unlikely tokens in: each is rare, but
there are tens of thousands of them, and one bad token derails everything after it. Greedy
decoding avoids the tail but repeats itself (see the likelihood-trap exercise). The filters here
cut the tail adaptively, before sampling:

    top_p_filter(logits, top_p, min_tokens_to_keep=1)
        keeps the *nucleus*: the smallest set of most likely tokens whose probabilities sum to
        at least top_p (nucleus sampling, arXiv 1904.09751). Sort the probabilities in
        decreasing order; token k is kept when the mass of the tokens before it is < top_p.
        So the token whose mass brings the total to exactly top_p is kept, and the next one is
        not: with probabilities 0.5, 0.25, 0.125, 0.125 and top_p = 0.75, two tokens stay.
    min_p_filter(logits, min_p, min_tokens_to_keep=1)
        keeps the tokens whose probability is at least min_p times that of the most likely
        token (min-p sampling, arXiv 2407.01082): a threshold that rises when the model is sure.
    repetition_penalty(logits, input_ids, penalty)
        makes every token that already occurs in input_ids less likely (the CTRL convention,
        arXiv 1909.05858, as in HuggingFace): a positive logit is divided by penalty, a negative
        one multiplied by it. A token is penalised once, however often it occurs.

Shapes: logits are (..., V): (V,), (B, V) one row per sequence, or (B, T, V); input_ids are
(B, T) long. The filters return logits of the same shape and dtype with removed entries set to
-inf and kept entries unchanged; in every row at least min_tokens_to_keep tokens (the most likely
ones) are kept, all of them when min_tokens_to_keep >= V.

Ties: tokens with equal probability are ranked by token id, the lower id first (a stable sort),
so when only some of them fit, the lower ids are kept. Precision: decide which tokens to keep in
float32 or better (upcast bfloat16 / float16 logits before the softmax and the cumulative sum: in
bfloat16 a sum near 0.9 moves in steps of 0.004 and the small tokens vanish); the output keeps
the input's dtype. None of the three functions may modify its input in place.

Your task: write the three functions. The tests check the nucleus is the smallest set with mass
>= top_p, the min-p rule, the repetition penalty's signs, and that batched rows are independent.
"""

import torch


def top_p_filter(logits: torch.Tensor, top_p: float, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """Keep the smallest set of most likely tokens with total probability >= top_p; -inf elsewhere.

    logits: (..., V) -> (..., V).
    """
    # TODO: sort the logits in decreasing order (stable=True, and keep the permutation), take
    #       softmax in float32 or better and the mass *before* each token (cumulative sum minus
    #       the token itself). Remove a token when that mass is already >= top_p, but never the
    #       first min_tokens_to_keep. Put the mask back in vocabulary order (scatter with the
    #       permutation) and fill -inf.
    raise NotImplementedError


def min_p_filter(logits: torch.Tensor, min_p: float, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """Keep tokens with probability >= min_p * (the largest probability); -inf elsewhere.

    A token exactly at the threshold is kept.

    logits: (..., V) -> (..., V).
    """
    # TODO: probabilities with softmax (float32 or better); remove a token when its
    #       probability is below min_p * the row's largest probability (amax, keepdim=True).
    #       Then un-remove the min_tokens_to_keep most likely tokens (a stable argsort in
    #       decreasing order, its first min_tokens_to_keep columns, scatter False), fill -inf.
    raise NotImplementedError


def repetition_penalty(logits: torch.Tensor, input_ids: torch.Tensor,
                       penalty: float) -> torch.Tensor:
    """Penalise every token id that occurs in input_ids: logits (B, V), input_ids (B, T) -> (B, V).

    Positive logits are divided by `penalty`, negative ones multiplied by it (penalty > 1
    lowers both); each token is penalised once however often it occurs.
    """
    # TODO: gather the logits of the ids in input_ids, divide the positive ones by penalty
    #       and multiply the negative ones (torch.where), and scatter them back into a copy.
    #       Scattering the same new value twice for a repeated id penalises it only once.
    raise NotImplementedError
