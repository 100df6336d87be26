"""Checks for nucleus-sampling.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
Exact boundaries use rows of equal logits: their probabilities (1/8, 1/4...) and the sums of
them are exact in float32 and float64 alike.
"""

import torch

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("nucleus-sampling")

NEG_INF = float("-inf")


def reference_top_p_mask(row: torch.Tensor, top_p: float, min_keep: int = 1) -> torch.Tensor:
    """Kept tokens of one row, by a plain loop: most likely first (lower id first on ties),
    until the mass reaches top_p."""
    probs = row.double().softmax(-1)
    keep = torch.zeros(row.shape, dtype=torch.bool)
    mass = 0.0
    for k, i in enumerate(probs.argsort(descending=True, stable=True).tolist()):
        if mass >= top_p and k >= min_keep:
            break
        keep[i] = True
        mass += probs[i].item()
    return keep


def kept(out: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(out)


# ---- top-p -------------------------------------------------------------------------------------

def test_top_p_matches_a_sorted_loop():
    logits = torch.randn(6, 40) * 2
    for top_p in [0.1, 0.5, 0.9, 0.99]:
        out = ex.top_p_filter(logits.clone(), top_p)
        expected = torch.stack([reference_top_p_mask(row, top_p) for row in logits])
        assert_equal(kept(out), expected,
                     f"top_p={top_p} keeps the most likely tokens until their mass reaches top_p")


def test_nucleus_is_the_smallest_set_with_mass_at_least_p():
    logits = torch.randn(20, 30) * 3
    for top_p in [0.3, 0.7, 0.95]:
        keep = kept(ex.top_p_filter(logits.clone(), top_p))
        probs = logits.softmax(-1)
        mass = (probs * keep).sum(-1)
        assert (mass >= top_p - 1e-6).all(), f"the kept tokens have total probability >= {top_p}"
        smallest_kept = probs.masked_fill(~keep, 2.0).amin(-1)
        assert (mass - smallest_kept < top_p).all(), \
            f"dropping the least likely kept token brings the mass below {top_p} (the set is minimal)"
        largest_removed = probs.masked_fill(keep, -1.0).amax(-1)
        assert (largest_removed <= smallest_kept).all(), "every kept token is at least as likely " \
            "as every removed one"


def test_the_token_that_reaches_top_p_exactly_is_kept_and_the_next_is_not():
    for dtype in (torch.float32, torch.float64):
        logits = torch.zeros(1, 8, dtype=dtype)  # 8 tokens of probability 1/8 each
        for top_p, n_kept in [(0.125, 1), (0.25, 2), (0.5, 4), (0.75, 6), (1.0, 8)]:
            out = ex.top_p_filter(logits.clone(), top_p)
            assert_equal(int(kept(out).sum()), n_kept,
                         f"8 tokens of 1/8, top_p={top_p} ({dtype}): the token whose mass brings the "
                         f"total to exactly top_p is kept, the next one is not ({n_kept} kept)")


def test_ties_keep_the_lower_token_ids_first():
    logits = torch.tensor([[NEG_INF, 0.0, NEG_INF, 0.0, 0.0, NEG_INF, 0.0, -1.0]])
    # tokens 1, 3, 4, 6 share the top probability (0.23 each): two of them reach top_p = 0.45
    out = ex.top_p_filter(logits.clone(), 0.45)
    assert_equal(kept(out)[0].nonzero().flatten().tolist(), [1, 3],
                 "among tied tokens the lower ids are kept first (a stable sort)")
    out = ex.top_p_filter(logits.clone(), 1e-3, min_tokens_to_keep=3)
    assert_equal(kept(out)[0].nonzero().flatten().tolist(), [1, 3, 4],
                 "min_tokens_to_keep=3 among tied tokens keeps the three lowest ids")


def test_removed_entries_are_minus_inf_and_kept_are_unchanged():
    logits = torch.randn(4, 25)
    for out in [ex.top_p_filter(logits.clone(), 0.6), ex.min_p_filter(logits.clone(), 0.2)]:
        keep = kept(out)
        assert (out[~keep] == NEG_INF).all(), "removed tokens get exactly -inf (not a large negative)"
        assert_equal(out[keep], logits[keep], "kept tokens keep their original logits")


def test_tiny_top_p_is_greedy_and_min_tokens_to_keep_is_respected():
    logits = torch.randn(5, 12)
    keep = kept(ex.top_p_filter(logits.clone(), 1e-4))
    assert_equal(keep, torch.nn.functional.one_hot(logits.argmax(-1), 12).bool(),
                 "a tiny top_p keeps only the most likely token (greedy)")
    for filt, arg in [(ex.top_p_filter, 1e-4), (ex.min_p_filter, 0.999)]:
        keep = kept(filt(logits.clone(), arg, min_tokens_to_keep=3))
        top3 = torch.zeros_like(keep).scatter(-1, logits.topk(3, dim=-1).indices, True)
        assert_equal(keep, top3, f"{filt.__name__} with min_tokens_to_keep=3 keeps the 3 most "
                     "likely tokens even when the rule would keep fewer")


def test_min_tokens_to_keep_beyond_the_vocabulary_keeps_everything():
    logits = torch.randn(3, 5) * 4
    for filt, arg in [(ex.top_p_filter, 1e-4), (ex.min_p_filter, 0.999)]:
        out = filt(logits.clone(), arg, min_tokens_to_keep=10)
        assert_equal(out, logits, f"{filt.__name__} with min_tokens_to_keep=10 > V=5 keeps all tokens")


def test_batched_rows_are_independent():
    logits = torch.randn(7, 33) * 2
    for name, filt, arg in [("top_p_filter", ex.top_p_filter, 0.8),
                            ("min_p_filter", ex.min_p_filter, 0.1)]:
        batched = filt(logits.clone(), arg)
        for i in range(len(logits)):
            assert_equal(batched[i:i + 1], filt(logits[i:i + 1].clone(), arg),
                         f"{name} on a batch equals {name} on each row alone (row {i})")


def test_any_leading_shape_works():
    logits = torch.randn(2, 3, 17) * 2  # (B, T, V)
    for name, filt, arg in [("top_p_filter", ex.top_p_filter, 0.7),
                            ("min_p_filter", ex.min_p_filter, 0.15)]:
        out = filt(logits.clone(), arg)
        assert out.shape == (2, 3, 17), f"{name} keeps the (B, T, V) shape"
        for b in range(2):
            for t in range(3):
                assert_equal(out[b, t], filt(logits[b, t].clone(), arg),
                             f"{name} on (B, T, V) logits filters each position over the last "
                             f"axis, like a single (V,) row (position {b}, {t})")


def test_half_precision_logits_are_filtered_as_in_float32():
    g = torch.Generator().manual_seed(7)
    logits = (torch.randn(4, 2000, generator=g) * 1.5).to(torch.bfloat16)  # hundreds of small tokens
    out = ex.top_p_filter(logits.clone(), 0.9)
    assert out.dtype == torch.bfloat16, f"top_p_filter keeps the bfloat16 dtype (got {out.dtype})"
    expected = torch.stack([reference_top_p_mask(row, 0.9) for row in logits])
    assert_equal(kept(out), expected, "bfloat16 logits: the nucleus is decided in float32 or better "
                 "(a bfloat16 cumulative sum near 0.9 cannot add up the small tokens)")
    out = ex.min_p_filter(logits.clone(), 0.05)
    assert out.dtype == torch.bfloat16, f"min_p_filter keeps the bfloat16 dtype (got {out.dtype})"
    probs = logits.double().softmax(-1)
    assert_equal(kept(out), probs >= 0.05 * probs.amax(-1, keepdim=True),
                 "bfloat16 logits: min-p is decided on float32 (or better) probabilities")


def test_float64_logits_stay_float64():
    logits = torch.randn(3, 11, dtype=torch.float64)
    ids = torch.randint(11, (3, 4))
    for name, out in [("top_p_filter", ex.top_p_filter(logits.clone(), 0.5)),
                      ("min_p_filter", ex.min_p_filter(logits.clone(), 0.3)),
                      ("repetition_penalty", ex.repetition_penalty(logits.clone(), ids.clone(), 1.2))]:
        assert out.dtype == torch.float64, f"{name} returns the logits' dtype float64 (got {out.dtype})"


def test_filters_do_not_modify_their_input():
    logits = torch.randn(3, 10)
    ids = torch.tensor([[1, 2], [3, 3], [0, 9]])
    copy, ids_copy = logits.clone(), ids.clone()
    ex.top_p_filter(logits, 0.5)
    ex.min_p_filter(logits, 0.3)
    ex.repetition_penalty(logits, ids, 1.5)
    assert_equal(logits, copy, "the functions return new tensors and leave the logits unchanged")
    assert_equal(ids, ids_copy, "repetition_penalty leaves input_ids unchanged")


# ---- min-p -------------------------------------------------------------------------------------

def test_min_p_keeps_tokens_above_a_fraction_of_the_top_probability():
    logits = torch.randn(8, 50) * 2
    probs = logits.double().softmax(-1)
    for min_p in [0.05, 0.2, 0.5]:
        expected = probs >= min_p * probs.amax(-1, keepdim=True)
        assert_equal(kept(ex.min_p_filter(logits.clone(), min_p)), expected,
                     f"min_p={min_p} keeps exactly the tokens with p >= min_p * max p")


def test_min_p_keeps_a_token_exactly_at_the_threshold():
    logits = torch.tensor([[0.0, -1.0, 0.0, 0.0, -3.0, 0.0]])
    out = ex.min_p_filter(logits.clone(), 1.0)
    assert_equal(kept(out)[0].nonzero().flatten().tolist(), [0, 2, 3, 5],
                 "min_p=1 keeps every token tied with the top one (p >= min_p * max p, not >)")
    out = ex.min_p_filter(torch.tensor([[0.0, -1.0, -1.0, -1.0]]), 1.0, min_tokens_to_keep=3)
    assert_equal(kept(out)[0].nonzero().flatten().tolist(), [0, 1, 2],
                 "min_tokens_to_keep=3 with tied runners-up keeps the lower ids first")


def test_min_p_threshold_rises_with_confidence():
    flat = torch.tensor([[2.0, 1.9, 1.8, 1.7, 0.0]])
    sharp = torch.tensor([[6.0, 1.9, 1.8, 1.7, 0.0]])
    assert int(kept(ex.min_p_filter(flat.clone(), 0.5)).sum()) == 4, \
        "a flat distribution keeps its four near-equal tokens at min_p=0.5"
    assert int(kept(ex.min_p_filter(sharp.clone(), 0.5)).sum()) == 1, \
        "a confident distribution keeps only its top token at min_p=0.5"
    assert_equal(kept(ex.min_p_filter(flat.clone(), 0.0)), torch.ones(1, 5, dtype=torch.bool),
                 "min_p=0 keeps every token")


# ---- repetition penalty ------------------------------------------------------------------------

def test_repetition_penalty_divides_positive_and_multiplies_negative():
    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0, 4.0]])
    out = ex.repetition_penalty(logits.clone(), torch.tensor([[0, 1, 1, 1]]), 2.0)
    assert_close(out, torch.tensor([[1.0, -2.0, 0.5, -3.0, 4.0]]),
                 "a seen positive logit is divided by the penalty and a seen negative one "
                 "multiplied, once however often it occurs; unseen logits are unchanged")


def test_repetition_penalty_is_batched_and_lowers_only_seen_tokens():
    logits = torch.randn(4, 20) * 3
    ids = torch.randint(20, (4, 6))
    out = ex.repetition_penalty(logits.clone(), ids.clone(), 1.3)
    seen = torch.zeros(4, 20, dtype=torch.bool).scatter(-1, ids, True)
    assert_equal(out[~seen], logits[~seen], "tokens that do not occur in input_ids are unchanged")
    assert (out[seen] < logits[seen]).all(), "a penalty > 1 lowers every seen (non-zero) logit"
    for i in range(4):
        assert_close(out[i:i + 1], ex.repetition_penalty(logits[i:i + 1].clone(), ids[i:i + 1].clone(), 1.3),
                     f"row {i} is penalised by its own input_ids only")
    assert_equal(ex.repetition_penalty(logits.clone(), ids.clone(), 1.0), logits,
                 "penalty 1.0 changes nothing")
