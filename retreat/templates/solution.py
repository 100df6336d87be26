"""CHANGE ME (the exercise's contract: the learner reads this docstring in the stub).

Count words. A word is a run of letters a-z and apostrophes, compared lower-cased: "The" and
"the" are the same word, "don't" is one word, digits and punctuation separate words.

- `count_words(text)`: a dict from each word to how many times it occurs.
- `top_words(text, k)`: the k most frequent (word, count) pairs, the largest count first and
  words with the same count in alphabetical order; fewer than k if the text has fewer words.

This file is the solution. The lines between `### TODO:` and `### END` are what the learner
writes; `retreat dev stubs` turns each block into its TODO text and `raise NotImplementedError`.
Pure Python: this course does not need torch.
"""

import re
from collections import Counter


def count_words(text: str) -> dict[str, int]:
    """How many times each word occurs in `text` (lower-cased)."""
    ### TODO: lower-case the text, find the words with a regular expression, count them.
    words = re.findall(r"[a-z']+", text.lower())
    return dict(Counter(words))
    ### END


def top_words(text: str, k: int) -> list[tuple[str, int]]:
    """The k most frequent (word, count) pairs: largest count first, ties alphabetical."""
    ### TODO: sort count_words(text)'s items by count, largest first, ties alphabetical;
    ### keep the first k.
    counts = count_words(text)
    return sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:k]
    ### END
