"""Checks for nucleus-sampling."""

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("nucleus-sampling")

NEG_INF = float("-inf")


def reference_top_p_mask(row: torch.Tensor, top_p: float, min_keep: int = 1) -> torch.Tensor:
    """Kept tokens of one row, by a plain loop: most likely first, until the mass reaches top_p."""
    probs = row.double().softmax(-1)
    keep = torch.zeros_like(row, dtype=torch.bool)
    mass = 0.0
    for k, i in enumerate(probs.argsort(descending=True).tolist()):
        if mass >= top_p and k >= min_keep:
            break
        keep[i] = True
        mass += probs[i].item()
    return keep


# ---- top-p -------------------------------------------------------------------------------------

def test_top_p_matches_a_sorted_loop():
    logits = torch.randn(6, 40) * 2
    for top_p in [0.1, 0.5, 0.9, 0.99]:
        out = ex.top_p_filter(logits, top_p)
        expected = torch.stack([reference_top_p_mask(row, top_p) for row in logits])
        assert_equal(torch.isfinite(out), expected,
                     f"top_p={top_p} keeps the most likely tokens until their mass reaches top_p")


def test_nucleus_is_the_smallest_set_with_mass_at_least_p():
    logits = torch.randn(20, 30) * 3
    for top_p in [0.3, 0.7, 0.95]:
        kept = torch.isfinite(ex.top_p_filter(logits, top_p))
        probs = logits.softmax(-1)
        mass = (probs * kept).sum(-1)
        assert (mass >= top_p - 1e-6).all(), f"the kept tokens have total probability >= {top_p}"
        smallest_kept = probs.masked_fill(~kept, 2.0).amin(-1)
        assert (mass - smallest_kept < top_p).all(), \
            f"dropping the least likely kept token brings the mass below {top_p} (the set is minimal)"
        largest_removed = probs.masked_fill(kept, -1.0).amax(-1)
        assert (largest_removed <= smallest_kept).all(), "every kept token is at least as likely " \
            "as every removed one"


def test_removed_entries_are_minus_inf_and_kept_are_unchanged():
    logits = torch.randn(4, 25)
    for out in [ex.top_p_filter(logits, 0.6), ex.min_p_filter(logits, 0.2)]:
        kept = torch.isfinite(out)
        assert (out[~kept] == NEG_INF).all(), "removed tokens get exactly -inf (not a large negative)"
        assert_equal(out[kept], logits[kept], "kept tokens keep their original logits")


def test_tiny_top_p_is_greedy_and_min_tokens_to_keep_is_respected():
    logits = torch.randn(5, 12)
    kept = torch.isfinite(ex.top_p_filter(logits, 1e-4))
    assert_equal(kept, torch.nn.functional.one_hot(logits.argmax(-1), 12).bool(),
                 "a tiny top_p keeps only the most likely token (greedy)")
    for filt, arg in [(ex.top_p_filter, 1e-4), (ex.min_p_filter, 0.999)]:
        kept = torch.isfinite(filt(logits, arg, min_tokens_to_keep=3))
        top3 = torch.zeros_like(kept).scatter(-1, logits.topk(3, dim=-1).indices, True)
        assert_equal(kept, top3, f"{filt.__name__} with min_tokens_to_keep=3 keeps the 3 most "
                     "likely tokens even when the rule would keep fewer")


def test_batched_rows_are_independent():
    logits = torch.randn(7, 33) * 2
    for name, filt, arg in [("top_p_filter", ex.top_p_filter, 0.8),
                            ("min_p_filter", ex.min_p_filter, 0.1)]:
        batched = filt(logits, arg)
        for i in range(len(logits)):
            assert_equal(batched[i:i + 1], filt(logits[i:i + 1], arg),
                         f"{name} on a batch equals {name} on each row alone (row {i})")


def test_filters_do_not_modify_their_input():
    logits = torch.randn(3, 10)
    copy = logits.clone()
    ex.top_p_filter(logits, 0.5)
    ex.min_p_filter(logits, 0.3)
    ex.repetition_penalty(logits, torch.tensor([[1, 2], [3, 3], [0, 9]]), 1.5)
    assert_equal(logits, copy, "the functions return new tensors and leave the logits unchanged")


# ---- min-p -------------------------------------------------------------------------------------

def test_min_p_keeps_tokens_above_a_fraction_of_the_top_probability():
    logits = torch.randn(8, 50) * 2
    probs = logits.softmax(-1)
    for min_p in [0.05, 0.2, 0.5]:
        expected = probs >= min_p * probs.amax(-1, keepdim=True)
        assert_equal(torch.isfinite(ex.min_p_filter(logits, min_p)), expected,
                     f"min_p={min_p} keeps exactly the tokens with p >= min_p * max p")


def test_min_p_threshold_rises_with_confidence():
    flat = torch.tensor([[2.0, 1.9, 1.8, 1.7, 0.0]])
    sharp = torch.tensor([[6.0, 1.9, 1.8, 1.7, 0.0]])
    assert int(torch.isfinite(ex.min_p_filter(flat, 0.5)).sum()) == 4, \
        "a flat distribution keeps its four near-equal tokens at min_p=0.5"
    assert int(torch.isfinite(ex.min_p_filter(sharp, 0.5)).sum()) == 1, \
        "a confident distribution keeps only its top token at min_p=0.5"
    assert_equal(torch.isfinite(ex.min_p_filter(flat, 0.0)), torch.ones(1, 5, dtype=torch.bool),
                 "min_p=0 keeps every token")


# ---- repetition penalty ------------------------------------------------------------------------

def test_repetition_penalty_divides_positive_and_multiplies_negative():
    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0, 4.0]])
    out = ex.repetition_penalty(logits, torch.tensor([[0, 1, 1, 1]]), 2.0)
    assert_close(out, torch.tensor([[1.0, -2.0, 0.5, -3.0, 4.0]]),
                 "a seen positive logit is divided by the penalty and a seen negative one "
                 "multiplied, once however often it occurs; unseen logits are unchanged")


def test_repetition_penalty_is_batched_and_lowers_only_seen_tokens():
    logits = torch.randn(4, 20) * 3
    ids = torch.randint(20, (4, 6))
    out = ex.repetition_penalty(logits, ids, 1.3)
    seen = torch.zeros(4, 20, dtype=torch.bool).scatter(-1, ids, True)
    assert_equal(out[~seen], logits[~seen], "tokens that do not occur in input_ids are unchanged")
    assert (out[seen] < logits[seen]).all(), "a penalty > 1 lowers every seen (non-zero) logit"
    for i in range(4):
        assert_close(out[i:i + 1], ex.repetition_penalty(logits[i:i + 1], ids[i:i + 1], 1.3),
                     f"row {i} is penalised by its own input_ids only")
    assert_equal(ex.repetition_penalty(logits, ids, 1.0), logits, "penalty 1.0 changes nothing")
