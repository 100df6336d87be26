"""Uncertainty: how sure is the model, in nats?

A language model does not only pick a token, it gives a whole distribution p = softmax(logits)
over the vocabulary at every position. Its shape says how sure the model is:

    token_entropy(logits)              H = -sum_v p_v log p_v at every position
                                       (..., V) -> (...)
    sequence_logprob(logits, targets)  sum over t of log p_t(targets[:, t])
                                       (B, T, V), (B, T) -> (B,)
    perplexity(logits, targets)        exp(-mean over t of log p_t(targets[:, t]))
                                       (B, T, V), (B, T) -> (B,)

logits[:, t] is the distribution the model gives for targets[:, t]: the two are already aligned
(shift them before calling, as in training). Everything is in nats (natural log). A uniform
distribution over V tokens has entropy log V and perplexity V; a certain one has entropy 0 and
perplexity 1. Logits may hold -inf (a filtered vocabulary): such a token has p = 0 and adds
0 * log 0 = 0 to the entropy, not NaN. Logits may be very far apart: a target 10^4 nats below
the best token has log-probability about -10^4, not -inf. Results keep the logits' floating
dtype (float64 logits give float64 results), and no function changes its inputs.

Then measure the first cause of hallucination on the course's synthetic world
(support/hallucination_world.py): a small transformer trained on facts seen once or many times.

    compare_rare_frequent(logits, answers, counts, rare_max=1)
        logits (N, V): the model's distribution for each fact's answer token
        answers (N,): the true answer token ids; counts (N,): how often each fact was seen
        returns {"rare_accuracy", "frequent_accuracy", "rare_entropy", "frequent_entropy"}
        as floats, where a fact is rare when counts <= rare_max and frequent otherwise; accuracy
        is how often argmax(logits) equals the answer, entropy the mean token_entropy.
    good_turing_unseen(counts)
        counts (N,): how often each distinct fact occurs in the training data. Returns, as a
        float, Good's estimate ("The population frequencies of species and the estimation of
        population parameters", Biometrika 1953) of the probability that the next fact drawn
        from the same source is one never seen: N1 / n, the number of facts seen exactly once
        divided by the number of observations n = counts.sum() (not by the number of distinct
        facts). Kalai and Vempala (arXiv 2311.14648) show that a calibrated model hallucinates
        on about that fraction of such arbitrary facts.

    To see the numbers yourself:

        hw = retreat.load_support("hallucination_world")
        world, model = hw.pretrained()               # 200 facts, half of them seen once
        logits = hw.answer_logits(model, world)      # (200, V): the city after "<bos> person born"
        compare_rare_frequent(logits, world.city_tokens[world.city], world.count)
        good_turing_unseen(world.count)

Your task: write the five functions. The tests compare token_entropy with
torch.distributions.Categorical(logits=...).entropy(), check uniform and one-hot distributions,
and check on the world's transformer that facts seen once are answered less accurately and with
more entropy than facts seen often.
"""

import torch


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of softmax(logits) along the last axis: (..., V) -> (...)."""
    # TODO: take log-probabilities with torch.log_softmax (stable for large logits), p = exp of
    #       them, and return -sum(p * log p) over the last axis. Where p == 0 (a -inf logit)
    #       the term must be 0, not 0 * -inf = NaN: use torch.where.
    raise NotImplementedError


def sequence_logprob(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Total log-probability of each target sequence: (B, T, V), (B, T) long -> (B,)."""
    # TODO: log_softmax over the vocabulary, pick each target's entry with
    #       .gather(-1, targets.unsqueeze(-1)), and sum over the time axis.
    raise NotImplementedError


def perplexity(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """exp of the mean negative log-probability per token, one value per sequence: (B,)."""
    # TODO: divide sequence_logprob by the number of tokens T, negate, exponentiate.
    raise NotImplementedError


def compare_rare_frequent(logits: torch.Tensor, answers: torch.Tensor, counts: torch.Tensor,
                          rare_max: int = 1) -> dict[str, float]:
    """Accuracy and mean entropy on rare facts (counts <= rare_max) and on the others.

    logits (N, V), answers (N,) long, counts (N,) long. Returns a dict of four floats:
    rare_accuracy, frequent_accuracy, rare_entropy, frequent_entropy.
    """
    # TODO: a boolean mask rare = counts <= rare_max; correct = argmax(logits) == answers;
    #       entropy = token_entropy(logits). Average each over rare and over ~rare, and
    #       return the four means as Python floats (.item()).
    raise NotImplementedError


def good_turing_unseen(counts: torch.Tensor) -> float:
    """Good-Turing estimate of the unseen mass: facts seen exactly once / total observations.

    counts (N,) long, one entry per distinct fact, each >= 1. Returns a float in [0, 1].
    """
    # TODO: count the facts with counts == 1 and divide by the total number of observations,
    #       counts.sum(), as Python floats.
    raise NotImplementedError
