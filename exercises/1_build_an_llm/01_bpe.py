"""Byte-level byte pair encoding (BPE), the tokenizer family of GPT-2 and most LLMs since.

Text is first turned into UTF-8 bytes, so the starting vocabulary is the 256 byte values and
ANY string can be encoded (no unknown token). Training then repeats: find the most frequent
pair of adjacent tokens and replace it everywhere with a new token id (256, 257, ...). The
list of merges, in the order they were learned, IS the tokenizer.

    tok = BPETokenizer()
    tok.train("aaabdaaabac", vocab_size=259)   # 3 merges
    tok.encode("aaabdaaabac")                  # [258, 100, 258, 97, 99]
    tok.decode([258, 100])                     # "aaabd"

Write `merge`, `BPETokenizer.train`, `BPETokenizer.encode` and `BPETokenizer.decode`.

Two rules make the tokenizer exact, and the tests check both. Ties: when several pairs are
equally frequent, training merges the one that occurs first in the current ids. Invalid bytes:
ids can spell bytes that are not valid UTF-8 (a model can generate them, or a slice can cut a
character in two); decode replaces each such piece by U+FFFD, as bytes.decode("utf-8",
errors="replace") does, instead of failing or dropping it.
"""


def pair_counts(ids: list[int]) -> dict[tuple[int, int], int]:
    """How often each pair of adjacent ids occurs, e.g. [1, 2, 1, 2] -> {(1, 2): 2, (2, 1): 1}.

    The dict keeps pairs in order of first occurrence (this makes ties reproducible).
    """
    counts: dict[tuple[int, int], int] = {}
    for i in range(len(ids) - 1):
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids`, scanning left to right, by `new_id`.

    Occurrences do not overlap: merge([1, 1, 1], (1, 1), 9) == [9, 1]. Returns a new list and
    leaves `ids` as it was.
    """
    # TODO: walk through ids; where ids[i], ids[i + 1] equals `pair`, emit new_id and skip
    #       both, otherwise emit ids[i] and move on by one. Return the new list.
    raise NotImplementedError


class BPETokenizer:
    """A byte-level BPE tokenizer: 256 byte tokens plus one token per learned merge."""

    def __init__(self):
        self.merges: dict[tuple[int, int], int] = {}  # (left id, right id) -> new id, in training order
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}  # id -> the bytes it stands for

    def train(self, text: str, vocab_size: int) -> None:
        """Learn `vocab_size - 256` merges from `text`; fills `self.merges` and `self.vocab`.

        Merge i creates token id 256 + i. At each step merge the most frequent adjacent pair;
        among equally frequent pairs take the one whose first occurrence in the current ids comes
        first (pair_counts keeps that order, and max() returns the first of equal maxima), so
        "bdace" merges (b, d) first. Stop early if no pair is left (the text has become a single
        token, or is empty).
        """
        assert vocab_size >= 256, "the 256 byte values are always in the vocabulary"
        # TODO: start from the UTF-8 bytes of text as a list of ints; then for each new id from
        #       256 up to vocab_size - 1: count the pairs (pair_counts), pick the most frequent
        #       (max keeps the first of equals), merge it in the list, and record it in
        #       self.merges and self.vocab (its bytes are the two parts' bytes joined).
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`: its UTF-8 bytes, then the learned merges in training order."""
        # TODO: start from the UTF-8 bytes of text, then apply the merges in the order they were
        #       learned: while some adjacent pair is in self.merges, merge the pair whose new id
        #       is smallest. Return the list of ids.
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        """The text for token ids: join the bytes of every token, then decode them as UTF-8.

        Invalid UTF-8 (possible when ids are cut in the middle of a character) becomes U+FFFD
        ("\ufffd"), one per invalid piece, exactly as bytes.decode("utf-8", errors="replace").
        """
        # TODO: concatenate self.vocab[i] for all ids into one bytes object, then decode it
        #       (decode the whole thing once: one character may span several tokens).
        raise NotImplementedError
