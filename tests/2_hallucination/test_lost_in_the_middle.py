"""Checks for lost-in-the-middle.

The learner gets copies of the examples; the expected values come from untouched data.
"""

import copy
import itertools
import math
import re

import pytest
import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("lost-in-the-middle")

DOC_LINE = re.compile(r"^Document \[(\d+)\]: (.*)$")
QUESTION = re.compile(r"^Question: What is the code of item (\d+)\?$")


def make_examples(n_examples, n_facts):
    """Example k asks for the code of item k; its distractors are about items 100 and up."""
    examples = []
    for k in range(n_examples):
        gold = f"The code of item {k} is {1000 + k}."
        distractors = [f"The code of item {100 + 10 * k + j} is {5000 + 10 * k + j}."
                       for j in range(n_facts - 1)]
        examples.append(([gold, *distractors], f"What is the code of item {k}?", str(1000 + k)))
    return examples


def planted_model(planted, n_examples):
    """A mock LLM: finds the document about the asked item by its number, and answers example k
    correctly only when k < planted[slot] * n_examples. Otherwise it answers with the code of
    the next document, a confident hallucination."""

    def model_fn(prompt):
        lines = prompt.split("\n")
        assert lines[-1] == "Answer:", "the prompt ends with the line 'Answer:'"
        question = QUESTION.match(lines[-2])
        assert question, "the line before 'Answer:' is 'Question: <question>'"
        k = int(question.group(1))
        docs = [DOC_LINE.match(line) for line in lines[:-2]]
        assert all(docs), "every line before the question is 'Document [i]: <fact>'"
        codes = {int(d.group(1)) - 1: d.group(2).split()[-1].rstrip(".") for d in docs}
        slots = [int(d.group(1)) - 1 for d in docs if f"item {k} " in d.group(2)]
        assert len(slots) == 1, "the gold fact appears in exactly one document"
        slot = slots[0]
        if k < round(planted[slot] * n_examples):
            return f"The code is {codes[slot]}."
        return f"The code is {codes[(slot + 1) % len(codes)]}."

    return model_fn


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def test_prompt_has_the_documented_format():
    prompt = ex.build_prompt(["gold", "d1", "d2"], 1, "Who?")
    assert_equal(prompt, "Document [1]: d1\nDocument [2]: gold\nDocument [3]: d2\nQuestion: Who?\nAnswer:",
                 "documents numbered from 1, then the question and 'Answer:'")


def test_gold_fact_lands_at_each_slot_and_distractors_keep_their_order():
    facts = ["GOLD", "a", "b", "c", "d"]
    for p in range(len(facts)):
        lines = ex.build_prompt(list(facts), p, "q").split("\n")[:-2]
        docs = [line.split(": ", 1)[1] for line in lines]
        assert_equal(docs.index("GOLD"), p, f"the gold fact sits at slot {p} when gold_index={p}")
        assert_equal([d for d in docs if d != "GOLD"], ["a", "b", "c", "d"],
                     "distractors keep their order around the gold fact")


def test_gold_index_out_of_range_raises():
    for bad in (-1, 3):
        with pytest.raises(ValueError):
            ex.build_prompt(["gold", "a", "b"], bad, "q")


def test_recovers_a_planted_u_curve():
    planted = [0.9, 0.7, 0.5, 0.3, 0.4, 0.6, 0.8]
    n_examples = 10
    model_fn = planted_model(planted, n_examples)
    acc = ex.accuracy_by_position(model_fn, make_examples(n_examples, len(planted)))
    assert_close(acc, torch.tensor(planted), "accuracy at each slot equals the planted curve")
    acc = ex.accuracy_by_position(model_fn, make_examples(n_examples, len(planted)), seeded(1))
    assert_close(acc, torch.tensor(planted), "with shuffled distractors the planted curve is "
                 "recovered too (the gold fact still moves through every slot)")


def test_position_blind_model_gives_a_flat_curve():
    model_fn = planted_model([1.0] * 5, 4)
    acc = ex.accuracy_by_position(model_fn, make_examples(4, 5))
    assert_close(acc, torch.ones(5), "a model that always finds the answer scores 1 at every slot")
    assert_close(ex.u_score(acc.clone()), torch.tensor(0.0), "a flat curve has a u_score of 0")


def test_answers_are_matched_ignoring_case():
    examples = [(["The capital is Paris.", "The river is the Seine."], "Capital?", "Paris")]
    acc = ex.accuracy_by_position(lambda prompt: "the answer is PARIS", copy.deepcopy(examples))
    assert_close(acc, torch.ones(2), "an output containing the answer in another case is correct")
    acc = ex.accuracy_by_position(lambda prompt: "Lyon", copy.deepcopy(examples))
    assert_close(acc, torch.zeros(2), "an output without the answer is wrong")


def test_u_score_closed_form():
    acc = torch.tensor([0.8, 0.5, 0.3, 0.6, 0.9])
    assert_close(ex.u_score(acc.clone()), torch.tensor(0.85 - 0.3),
                 "u_score = mean of the two ends minus the lowest middle accuracy")
    low_start = torch.tensor([0.1, 0.5, 0.4, 0.6, 0.7])
    assert_close(ex.u_score(low_start.clone()), torch.tensor(0.0),
                 "u_score takes the minimum over the middle slots only (not the ends)")


def test_u_score_is_symmetric_and_shift_invariant():
    acc = torch.tensor([0.7, 0.4, 0.2, 0.5, 0.6, 0.65])
    assert_close(ex.u_score(acc.flip(0)), ex.u_score(acc.clone()), "reversing the curve keeps its u_score")
    assert_close(ex.u_score(acc - 0.1), ex.u_score(acc.clone()), "lowering every slot equally keeps its u_score")
    hump = torch.tensor([0.2, 0.6, 0.9, 0.5, 0.1])
    assert ex.u_score(hump.clone()) < 0, "a hump-shaped curve (middle best) has a negative u_score"


# ---- shuffled distractors ----------------------------------------------------------------------

def test_shuffle_keeps_the_gold_fact_first_and_every_distractor():
    facts = ["GOLD", "a", "b", "c", "d", "e"]
    for seed in range(5):
        out = ex.shuffled_facts(list(facts), seeded(seed))
        assert out[0] == "GOLD", "shuffled_facts keeps the gold fact first"
        assert sorted(out[1:]) == sorted(facts[1:]), "shuffled_facts keeps every distractor once"
    assert ex.shuffled_facts(list(facts), seeded(3)) == ex.shuffled_facts(list(facts), seeded(3)), \
        "the same generator seed gives the same order"


def test_every_order_of_the_distractors_is_equally_likely():
    facts = ["GOLD", "a", "b", "c"]
    g = seeded(4)
    draws = 24_000
    counts = {order: 0 for order in itertools.permutations("abc")}
    for _ in range(draws):
        out = tuple(ex.shuffled_facts(list(facts), g)[1:])
        assert out in counts, f"shuffled_facts returns a permutation of the distractors (got {out})"
        counts[out] += 1
    sigma = math.sqrt(draws * (1 / 6) * (5 / 6))
    for order, count in counts.items():
        assert abs(count - draws / 6) <= 4.5 * sigma, "each of the 6 orders of 3 distractors comes " \
            f"up 1 time in 6, not only each distractor at each slot (order {order}: {count} of " \
            f"{draws}, expected {draws // 6})"


def test_inputs_are_not_changed():
    examples = make_examples(3, 4)
    pristine = copy.deepcopy(examples)
    facts = ["GOLD", "a", "b"]
    ex.build_prompt(facts, 2, "q")
    ex.shuffled_facts(facts, seeded(5))
    assert facts == ["GOLD", "a", "b"], "build_prompt and shuffled_facts leave the caller's list unchanged"
    ex.accuracy_by_position(planted_model([1.0] * 4, 3), examples, seeded(6))
    assert examples == pristine, "accuracy_by_position leaves the examples unchanged"
