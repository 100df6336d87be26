"""Semantic entropy and self-consistency: uncertainty over meanings, not strings.

Ask a model the same question several times (sampling) and look at how much the answers
disagree. Disagreement is a strong hallucination signal: a model that knows the answer says
it every time, and a model that is guessing says something different each time. But the
answers are strings, and "Paris", "It's Paris." and "The capital is Paris" mean one thing.
The naive entropy over strings counts them as three outcomes and reports uncertainty that is
not there.

Semantic entropy (Kuhn, Gal and Farquhar, "Semantic Uncertainty", arXiv 2302.09664) first
groups answers by meaning. Two answers share a meaning when each entails the other
(bidirectional entailment, judged by an NLI model or an LLM; here any function
`equivalent(a, b) -> bool`). Such a judge need not be transitive: A may match B and B match C
while A does not match C. So the grouping is fixed as in Kuhn et al.'s clustering algorithm:
each answer is compared with the FIRST member of each cluster, in order, and joins the first
cluster that passes both ways (other implementations differ on non-transitive judges).

The entropy is then taken over the meanings. Two estimators from the same samples:

    Kuhn et al. 2023 (Monte Carlo): p(c) = sum of p(s) over the answers s in cluster c, and
        SE ~ -(1/C) sum_c log p(c), an average of -log p(c) over the C clusters found.
    Farquhar, Kossen, Kuhn and Gal 2024 ("Detecting hallucinations in large language models
        using semantic entropy", Nature 630): the same p(c), renormalised over the clusters
        found, and the entropy of that distribution:
        p'(c) = p(c) / sum_c' p(c'),   SE = - sum_c p'(c) log p'(c)

This exercise computes the second (Farquhar et al.'s), which is 0 for one meaning and log n for n
equally likely ones.

Self-consistency (Wang et al., arXiv 2203.11171) uses the same samples differently. It
normalises each answer (strip, lowercase, extract the number...), returns the most frequent
one, and the vote share is a confidence score.

No function changes its inputs, and semantic_entropy returns the dtype of `logprobs`. On the
course's synthetic world (support/hallucination_world.py), sample a small transformer's answers
to "where was P born?" and measure:

    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()
    for answers, logprobs in hw.sample_answers(model, world, n=10):    # one pair per person
        semantic_entropy(answers, logprobs, hw.same_birthplace)       # vs equivalent = ==

Your task: write cluster_by_equivalence, semantic_entropy and majority_vote.
"""

from collections import Counter
from collections.abc import Callable, Sequence

import torch


def cluster_by_equivalence(answers: Sequence[str], equivalent: Callable[[str, str], bool]) -> list[int]:
    """Group answers by meaning, greedily, in order.

    answers: N strings.
    equivalent(a, b): True when a entails b (need not be symmetric nor transitive).
    Each answer joins the first existing cluster (the lowest id) whose FIRST member r satisfies
    equivalent(answer, r) and equivalent(r, answer), whatever the later members are; if none
    does, it starts a new cluster. Returns N cluster ids, numbered 0, 1, 2, ... in order of first
    appearance.
    """
    ### TODO: keep the first member of each cluster; compare each answer with them both ways.
    ids: list[int] = []
    firsts: list[str] = []  # firsts[c] is the first member of cluster c
    for answer in answers:
        for c, first in enumerate(firsts):
            if equivalent(answer, first) and equivalent(first, answer):
                ids.append(c)
                break
        else:
            firsts.append(answer)
            ids.append(len(firsts) - 1)
    return ids
    ### END


def semantic_entropy(answers: Sequence[str], logprobs: torch.Tensor,
                     equivalent: Callable[[str, str], bool]) -> torch.Tensor:
    """The entropy (nats) of the distribution over meanings.

    answers: N distinct answers (sampled, then de-duplicated).
    logprobs: (N,) their sequence log-probabilities under the model, log p(s | question).
    equivalent: as in cluster_by_equivalence.
    Returns a 0-dim tensor of logprobs' dtype: -sum_c p(c) log p(c), where p(c) is the total
    probability of the answers in cluster c divided by the total probability of all N answers
    (Farquhar et al. 2024's estimator).
    """
    ### TODO: cluster, then log p(c) = logsumexp of the members' log-probabilities;
    ###       renormalise (subtract the logsumexp over clusters) and take the entropy.
    ids = torch.tensor(cluster_by_equivalence(answers, equivalent))  # (N,)
    n_clusters = int(ids.max()) + 1
    cluster_logp = torch.stack([logprobs[ids == c].logsumexp(dim=0) for c in range(n_clusters)])  # (C,)
    cluster_logp = cluster_logp - cluster_logp.logsumexp(dim=0)
    return -(cluster_logp.exp() * cluster_logp).sum()
    ### END


def majority_vote(answers: Sequence[str],
                  normalize: Callable[[str], str] | None = None) -> tuple[str, float]:
    """Self-consistency: the most frequent answer after normalisation, and its vote share.

    answers: N sampled answers (duplicates are votes).
    normalize: applied to every answer before counting (None: count the strings as they are).
    Returns (winner, share): the most frequent normalised answer (on a tie, the one that
    appears first) and the fraction of the N answers that voted for it.
    """
    ### TODO: normalise, count, take the most common (Counter.most_common keeps first-seen
    ###       order on ties), divide its count by N.
    keys = [normalize(a) if normalize is not None else a for a in answers]
    winner, votes = Counter(keys).most_common(1)[0]
    return winner, votes / len(keys)
    ### END
