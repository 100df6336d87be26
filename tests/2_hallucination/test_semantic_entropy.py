"""Checks for semantic-entropy.

Every call hands the learner copies of its inputs; the oracles are computed on untouched data.
"""

import math

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("semantic-entropy")

CITY = {"paris": "Paris", "it's paris.": "Paris", "the capital is paris": "Paris",
        "lyon": "Lyon", "it is lyon": "Lyon", "marseille": "Marseille", "nice": "Nice"}


def same_city(a, b):
    """A stand-in for bidirectional entailment: both answers name the same city."""
    return CITY[a.lower()] == CITY[b.lower()]


def same_string(a, b):
    return a == b


def entails(a, b):
    """One-way entailment: 'Paris, France' entails 'Paris' but not the other way round."""
    return b in a


def share_a_letter(a, b):
    """A symmetric judge that is not transitive: 'ab' ~ 'bc' and 'bc' ~ 'cd', but 'ab' !~ 'cd'."""
    return bool(set(a) & set(b))


def test_clusters_are_numbered_in_order_of_first_appearance():
    answers = ["Lyon", "Paris", "it is Lyon", "Nice", "It's Paris.", "The capital is Paris"]
    assert_equal(ex.cluster_by_equivalence(list(answers), same_city), [0, 1, 0, 2, 1, 1],
                 "answers with the same meaning share a cluster id; ids count up from 0 in order")


def test_clusters_need_entailment_both_ways():
    answers = ["Paris, France", "Paris", "Paris, Texas"]
    assert_equal(ex.cluster_by_equivalence(list(answers), entails), [0, 1, 2],
                 "one-way entailment is not equivalence: each answer stays in its own cluster")
    assert_equal(ex.cluster_by_equivalence(["Paris", "Paris", "Lyon"], entails), [0, 0, 1],
                 "answers that entail each other share a cluster")


def test_each_answer_is_compared_with_the_first_member_of_each_cluster():
    answers = ["ab", "bc", "cd", "a"]
    assert_equal(ex.cluster_by_equivalence(list(answers), share_a_letter), [0, 0, 1, 0],
                 "with a judge that is not transitive, 'cd' is compared with the first member 'ab' "
                 "of cluster 0 (no match), not with its later member 'bc': it starts cluster 1")


def test_an_answer_joins_the_earliest_cluster_it_matches():
    answers = ["ab", "cd", "bc"]
    assert_equal(ex.cluster_by_equivalence(list(answers), share_a_letter), [0, 1, 0],
                 "'bc' matches the first members of clusters 0 ('ab') and 1 ('cd'): it joins the "
                 "earliest one, cluster 0")


def test_closed_form_for_two_meanings():
    answers = ["Paris", "It's Paris.", "Lyon"]
    logprobs = torch.log(torch.tensor([0.5, 0.25, 0.25]))
    expected = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert_close(ex.semantic_entropy(list(answers), logprobs.clone(), same_city), torch.tensor(expected),
                 "p(Paris) = 0.5 + 0.25 and p(Lyon) = 0.25, so SE = -(0.75 log 0.75 + 0.25 log 0.25)")


def test_paraphrases_have_zero_semantic_entropy_but_positive_naive_entropy():
    answers = ["Paris", "It's Paris.", "The capital is Paris"]
    logprobs = torch.log(torch.tensor([0.4, 0.3, 0.2]))
    assert_close(ex.semantic_entropy(list(answers), logprobs.clone(), same_city), torch.tensor(0.0),
                 "three paraphrases of one answer: semantic entropy 0")
    naive = ex.semantic_entropy(list(answers), logprobs.clone(), same_string)
    assert naive > 0.5, "the same answers compared as strings: the naive entropy is large"


def test_n_equally_likely_meanings_give_log_n():
    answers = ["Paris", "It's Paris.", "Lyon", "Marseille", "Nice", "It is Lyon"]
    probs = torch.tensor([0.1, 0.15, 0.2, 0.25, 0.25, 0.05])  # each city totals 0.25
    assert_close(ex.semantic_entropy(list(answers), probs.log(), same_city), torch.tensor(math.log(4)),
                 "4 meanings with equal total probability give SE = log 4")


def test_only_relative_probabilities_matter():
    answers = ["Paris", "Lyon", "It's Paris.", "Nice"]
    logprobs = torch.tensor([-1.0, -2.5, -0.7, -4.0])
    se = ex.semantic_entropy(list(answers), logprobs.clone(), same_city)
    assert_close(ex.semantic_entropy(list(answers), logprobs - 7.0, same_city), se,
                 "multiplying every answer's probability by a constant leaves SE unchanged (renormalise)")
    order = [3, 0, 2, 1]
    assert_close(ex.semantic_entropy([answers[i] for i in order], logprobs[order], same_city), se,
                 "the order of the answers does not matter")


def test_majority_vote_counts_normalised_answers():
    answers = ["Paris", " paris", "Lyon", "PARIS ", "Lyon"]
    winner, share = ex.majority_vote(list(answers), normalize=lambda a: a.strip().lower())
    assert_equal((winner, share), ("paris", 0.6), "normalised answers are counted together (3 of 5)")
    winner, share = ex.majority_vote(list(answers))
    assert_equal((winner, share), ("Lyon", 0.4), "without normalize, the raw strings are counted")


def test_majority_vote_ties_go_to_the_first_answer():
    assert_equal(ex.majority_vote(["b", "a", "a", "b", "c"]), ("b", 0.4),
                 "on a tie, the answer that appears first wins")
    assert_equal(ex.majority_vote(["x"]), ("x", 1.0), "a single answer wins with share 1")


def test_entropy_keeps_the_dtype_of_the_logprobs():
    answers = ["Paris", "Lyon", "It's Paris."]
    logprobs = torch.tensor([-0.4, -1.9, -1.2], dtype=torch.float64)
    se = ex.semantic_entropy(list(answers), logprobs.clone(), same_city)
    assert se.dtype == torch.float64, f"float64 log-probabilities give a float64 entropy (got {se.dtype})"
    p = torch.stack([logprobs[[0, 2]].logsumexp(0), logprobs[1]]).softmax(0)
    assert_close(se, -(p * p.log()).sum(), "semantic entropy in float64")


def test_inputs_are_not_changed():
    answers = ["Paris", "Lyon", "It's Paris.", "paris"]
    logprobs = torch.tensor([-1.0, -2.0, -0.5, -3.0])
    answers_copy, logprobs_copy = list(answers), logprobs.clone()
    ex.cluster_by_equivalence(answers, same_city)
    ex.semantic_entropy(answers, logprobs, same_city)
    ex.majority_vote(answers, normalize=lambda a: a.strip().lower())
    assert answers == answers_copy, "the list of answers is left unchanged"
    assert_equal(logprobs, logprobs_copy, "the log-probabilities are left unchanged")


def test_semantic_entropy_of_the_worlds_transformer():
    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()  # trains a small transformer once per run
    samples = hw.sample_answers(model, world, n=10, generator=torch.Generator().manual_seed(0))
    semantic = torch.stack([ex.semantic_entropy(list(a), lp.clone(), hw.same_birthplace) for a, lp in samples])
    naive = torch.stack([ex.semantic_entropy(list(a), lp.clone(), same_string) for a, lp in samples])
    assert (semantic <= naive + 1e-9).all(), "grouping answers by birthplace never raises the entropy " \
        "above the entropy over the raw strings (city and year)"
    once, often = world.count == 1, world.count > 1
    assert semantic[once].mean() > semantic[often].mean() + 0.1, "the transformer's answers about " \
        "people seen once scatter over more birthplaces than about people seen more often " \
        f"(mean semantic entropy {semantic[once].mean():.2f} against {semantic[often].mean():.2f})"
