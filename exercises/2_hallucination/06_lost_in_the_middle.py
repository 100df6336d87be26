"""Lost in the middle: a harness that measures accuracy by where the answer sits in the context.

A model is given several documents and a question; exactly one document (the "gold" one)
holds the answer, the others are distractors. Move the gold document from the first slot to
the last and measure accuracy at each slot. Liu et al. ("Lost in the Middle: How Language
Models Use Long Contexts", arXiv 2307.03172) found a U-shaped curve: models use the start and
the end of their context well and the middle badly.

The harness has four parts:

    build_prompt(facts, gold_index, question)   the prompt, gold document at slot `gold_index`
    shuffled_facts(facts, generator)            the same facts, distractors in a random order
    accuracy_by_position(model_fn, examples, generator=None)
                                                accuracy at each slot, over many examples
    u_score(accuracies)                         how much better the ends are than the middle

With the distractors always in one order, slot 3 always sits next to the same two distractors,
and the curve mixes the effect of the slot with the effect of its neighbours. Shuffling the
distractors for every prompt separates the two. The shuffle must make every order of the
distractors equally likely: a random rotation, for instance, puts each distractor at each slot
equally often, yet keeps the neighbours together (n - 1 of the (n - 1)! orders ever appear).
No function changes its inputs: build the new lists, never insert into or shuffle the caller's.

The prompt format is fixed, so any model (a real LLM or a mock) can be plugged in:

    Document [1]: <text>
    Document [2]: <text>
    ...
    Question: <question>
    Answer:

Your task: write the four functions. The tests plug in a mock model whose accuracy at each
slot is planted in advance, and check that the harness recovers the planted curve exactly, and
count the orders your shuffle produces.
"""

from collections.abc import Callable, Sequence

import torch

# An example is (facts, question, answer): facts[0] is the gold fact, facts[1:] the distractors.
Example = tuple[Sequence[str], str, str]


def build_prompt(facts: Sequence[str], gold_index: int, question: str = "") -> str:
    """The prompt with the gold fact at document slot `gold_index` (0-based).

    facts: the gold fact first, then the distractors, n facts in all.
    gold_index: 0 <= gold_index < n, the slot the gold fact goes to; the distractors keep their
        order and fill the other slots.
    Returns n lines "Document [i]: <fact>" numbered from 1, then "Question: <question>" and
    "Answer:", joined with newlines (no trailing newline).
    """
    # TODO: insert facts[0] among facts[1:] at position gold_index (raise ValueError if the
    #       index is out of range), number the documents from 1, then add the question lines.
    raise NotImplementedError


def shuffled_facts(facts: Sequence[str], generator: torch.Generator | None = None) -> list[str]:
    """A new list: the gold fact facts[0] first, then the distractors in a uniformly random order.

    Every order of the n - 1 distractors is equally likely (torch.randperm with `generator` does
    it); the caller's `facts` is left unchanged.
    """
    # TODO: draw a random permutation of the n - 1 distractors with torch.randperm (pass the
    #       generator), and return [facts[0]] followed by the distractors in that order.
    raise NotImplementedError


def is_correct(output: str, answer: str) -> bool:
    """An output counts as correct when it contains the answer, ignoring case (as in the paper)."""
    return answer.lower() in output.lower()


def accuracy_by_position(model_fn: Callable[[str], str], examples: Sequence[Example],
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Accuracy of `model_fn` with the gold fact at each document slot.

    model_fn: maps a prompt (str) to the model's output (str).
    examples: (facts, question, answer) triples; every example has the same number n of facts.
    generator: when given, every prompt is built from shuffled_facts(facts, generator), a fresh
        order of the distractors; when None, the distractors keep their order.
    Returns a float tensor (n,): entry p is the fraction of examples answered correctly
    (`is_correct`) when the gold fact sits at slot p.
    """
    # TODO: for each slot p and each example, build the prompt with the gold fact at p (from
    #       shuffled_facts when a generator is given), run the model, and count the correct
    #       outputs; divide by the number of examples.
    raise NotImplementedError


def u_score(accuracies: torch.Tensor) -> torch.Tensor:
    """How much better the two ends are than the worst middle slot.

    accuracies: (n,) with n >= 3.
    Returns a 0-dim tensor: the mean of the first and last accuracy minus the minimum accuracy
    over the middle slots 1..n-2. Positive for a U, 0 for a flat curve, negative for a hump.
    """
    # TODO: average the two ends, subtract the minimum of the middle slots.
    raise NotImplementedError
