"""Checks for bpe: a known small example, merge order, tie rule, invalid bytes, and lossless round
trips on any text. Every call hands the learner copies of its inputs (support/untouched.py)."""

import retreat
from retreat.testing import assert_equal

ex = retreat.load_exercise("bpe")
untouched = retreat.load_support("untouched")

MULTILINGUAL = (
    "the cat sat on the mat. the cat ate the rat. "
    "Café, naïve, façade. Ünïcödé wörks. "
    "日本語のテキスト、日本語の文字。 "
    "Привет, мир! Привет! "
    "emoji 🙂🙂 and 👋🏽 too. "
) * 3


def test_merge_replaces_pairs_left_to_right():
    assert_equal(untouched.call(ex.merge, [5, 6, 5, 6, 7], (5, 6), 256), [256, 256, 7],
                 "merge replaces every occurrence of the pair")
    assert_equal(untouched.call(ex.merge, [1, 1, 1], (1, 1), 9), [9, 1],
                 "merge scans left to right and occurrences do not overlap: [1, 1, 1] -> [9, 1]")
    assert_equal(untouched.call(ex.merge, [3, 4], (4, 3), 9), [3, 4], "merge leaves a list without the pair unchanged")


def test_known_example_encodes_to_known_ids():
    tok = ex.BPETokenizer()
    tok.train("aaabdaaabac", vocab_size=256 + 3)
    assert_equal(tok.encode("aaabdaaabac"), [258, 100, 258, 97, 99],
                 "after 3 merges, 'aaabdaaabac' encodes to [258, 100, 258, 97, 99]")


def test_each_merge_adds_one_token():
    tok = ex.BPETokenizer()
    tok.train("aaabdaaabac", vocab_size=256 + 3)
    assert_equal(sorted(tok.merges.values()), [256, 257, 258],
                 "3 merges create the token ids 256, 257 and 258")
    assert_equal(tok.merges[(97, 97)], 256, "the first merge is the most frequent pair, 'a' 'a' -> 256")
    assert_equal(untouched.call(tok.decode, [258]), "aaab", "token 258 stands for the bytes of 'aaab'")


def test_untrained_tokenizer_encodes_utf8_bytes():
    tok = ex.BPETokenizer()
    text = "héllo 👋"
    assert_equal(tok.encode(text), list(text.encode("utf-8")),
                 "before training, encode returns the UTF-8 bytes of the text")
    assert_equal(untouched.call(tok.decode, list(text.encode("utf-8"))), text,
                 "decode joins the bytes of all tokens before decoding UTF-8 (é is 2 bytes, 👋 is 4)")


def test_encode_applies_merges_in_the_order_they_were_learned():
    tok = ex.BPETokenizer()
    tok.merges = {(98, 99): 256, (97, 98): 257}  # 'bc' was learned before 'ab'
    tok.vocab[256], tok.vocab[257] = b"bc", b"ab"
    assert_equal(tok.encode("abc"), [97, 256],
                 "the merge learned first ('b' 'c' -> 256) is applied first, even though 'ab' comes earlier")
    assert_equal(tok.encode("abab"), [257, 257], "a later merge still applies where no earlier one does")


def test_unicode_round_trip():
    tok = ex.BPETokenizer()
    tok.train(MULTILINGUAL, vocab_size=256 + 60)
    assert len(tok.merges) == 60, f"training to vocab_size 316 learns 60 merges, got {len(tok.merges)}"
    for text in [MULTILINGUAL, "日本", "naïve façade 🙂", "unseen words: Ωμέγα, ☃, 🦀", ""]:
        assert_equal(untouched.call(tok.decode, tok.encode(text)), text,
                     f"decode(encode(text)) == text for {text[:20]!r}")


def test_training_compresses_the_text():
    tok = ex.BPETokenizer()
    tok.train(MULTILINGUAL, vocab_size=256 + 60)
    n_bytes, n_tokens = len(MULTILINGUAL.encode("utf-8")), len(tok.encode(MULTILINGUAL))
    assert n_tokens <= n_bytes - 60, (
        f"each of the 60 merges removes at least one token from the training text: "
        f"{n_bytes} bytes should give at most {n_bytes - 60} tokens, got {n_tokens}")
    assert all(t < 256 + 60 for t in tok.encode(MULTILINGUAL)), "every token id is below vocab_size"


def test_equally_frequent_pairs_merge_the_first_one_seen():
    # "bdace": four pairs, each once. The first seen is (b, d); the largest is (d, a), the
    # smallest (a, c) and the last (c, e), so any other tie rule picks another pair.
    tok = ex.BPETokenizer()
    tok.train("bdace", vocab_size=256 + 2)
    b, d, a = ord("b"), ord("d"), ord("a")
    assert_equal(tok.merges, {(b, d): 256, (256, a): 257},
                 "among equally frequent pairs, training merges the one that occurs first: "
                 "(b, d) -> 256, then (256, a) -> 257")


def test_training_stops_when_one_token_is_left():
    tok = ex.BPETokenizer()
    tok.train("ab", vocab_size=300)
    assert_equal(tok.merges, {(97, 98): 256},
                 "'ab' allows one merge; training then stops early instead of failing on no pairs")
    tok = ex.BPETokenizer()
    tok.train("", vocab_size=260)
    assert_equal(tok.merges, {}, "an empty text gives no merges")


def test_invalid_utf8_becomes_the_replacement_character():
    tok = ex.BPETokenizer()
    cut = list("日本".encode())[:4]  # the first character and one byte of the second
    for ids in ([0xFF], [104, 0xE6, 0x97, 105], cut, [0x80, 0x80]):
        expected = bytes(ids).decode("utf-8", errors="replace")
        assert_equal(untouched.call(tok.decode, ids), expected,
                     f"decode({ids}) replaces invalid UTF-8 by U+FFFD, as errors='replace' does: {expected!r}")
