"""CHANGE ME: the checks for word-count. They run unchanged against the stub (and fail), the
solution (and pass) and each mutant (and fail). Every assert names the property it checks.
No torch here: retreat.testing.assert_close is for tensors; plain asserts do for Python values."""

import retreat

ex = retreat.load_exercise("word-count")


def test_counts_every_word_lower_cased():
    got = ex.count_words("The cat and the hat. THE end!")
    assert got == {"the": 3, "cat": 1, "and": 1, "hat": 1, "end": 1}, \
        f"count_words lower-cases and counts each word; got {got}"


def test_apostrophes_stay_inside_words():
    got = ex.count_words("Don't stop, don't.")
    assert got == {"don't": 2, "stop": 1}, f"an apostrophe belongs to its word; got {got}"


def test_top_words_orders_by_count_then_alphabet():
    got = ex.top_words("pear apple fig pear apple kiwi fig fig", 3)
    assert got == [("fig", 3), ("apple", 2), ("pear", 2)], \
        f"top_words puts the largest count first and ties in alphabetical order; got {got}"


def test_top_words_with_fewer_words_than_k():
    got = ex.top_words("one two", 5)
    assert got == [("one", 1), ("two", 1)], f"top_words returns every word when there are fewer than k; got {got}"
