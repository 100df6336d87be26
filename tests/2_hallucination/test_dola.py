"""Checks for dola.

Every call hands the learner clones of its inputs; the oracles are computed on untouched data.
"""

import math

import torch
import torch.nn as nn

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("dola")

NEG_INF = float("-inf")


class TinyResidualLM(nn.Module):
    """Embeddings, L residual MLP blocks, a final LayerNorm with learned gains, and an LM head."""

    def __init__(self, vocab_size=11, dim=8, n_layers=4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(dim, dim), nn.Tanh()) for _ in range(n_layers))
        self.norm = nn.LayerNorm(dim)
        with torch.no_grad():  # a trained norm has gains and biases: applying it twice changes x
            self.norm.weight.uniform_(0.5, 2.0)
            self.norm.bias.normal_(0.0, 0.5)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        """Logits and the hidden states before the final norm (as early_exit_logits expects)."""
        h = self.embed(ids)
        hidden_states = [h]
        for block in self.blocks:
            h = h + block(h)
            hidden_states.append(h)
        return self.lm_head(self.norm(h)), hidden_states

    def forward_like_huggingface(self, ids):
        """Logits and the hidden states as HuggingFace returns them: the last one after the norm."""
        logits, hidden_states = self(ids)
        return logits, (*hidden_states[:-1], self.norm(hidden_states[-1]))


def reference_jsd(p, q):
    """JSD of two probability vectors given as Python lists."""
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl = lambda x: sum(a * math.log(a / c) for a, c in zip(x, m, strict=True) if a > 0)  # noqa: E731
    return 0.5 * kl(p) + 0.5 * kl(q)


# ---- early exit -------------------------------------------------------------------------------

def test_early_exit_reads_every_layer_through_the_final_norm_and_head():
    model = TinyResidualLM()
    ids = torch.randint(0, 11, (2, 5))
    with torch.no_grad():
        logits, hidden_states = model(ids)
        layer_logits = ex.early_exit_logits([h.clone() for h in hidden_states], model.norm, model.lm_head)
        assert layer_logits.shape == (5, 2, 5, 11), "early exit logits have shape (L+1, B, T, V)"
        assert_close(layer_logits[-1], logits, "the last layer's early exit equals the model's logits")
        for layer, h in enumerate(hidden_states):
            assert_close(layer_logits[layer], model.lm_head(model.norm(h)),
                         f"layer {layer}: logits = lm_head(final_norm(hidden_states[{layer}]))")


def test_early_exit_accepts_a_stacked_tensor():
    model = TinyResidualLM()
    with torch.no_grad():
        _, hidden_states = model(torch.randint(0, 11, (1, 3)))
        as_list = ex.early_exit_logits([h.clone() for h in hidden_states], model.norm, model.lm_head)
        as_tensor = ex.early_exit_logits(torch.stack(hidden_states), model.norm, model.lm_head)
    assert_close(as_tensor, as_list, "a stacked (L+1, B, T, D) tensor gives the same logits as a list")


def test_huggingface_hidden_states_are_not_normalised_twice():
    model = TinyResidualLM()
    ids = torch.randint(0, 11, (2, 5))
    with torch.no_grad():
        logits, hf_states = model.forward_like_huggingface(ids)
        layer_logits = ex.early_exit_logits([h.clone() for h in hf_states], model.norm, model.lm_head,
                                            last_is_normed=True)
        assert_close(layer_logits[-1], logits, "with last_is_normed=True the last (already "
                     "normalised) hidden state goes through lm_head only and gives the model's logits")
        for layer, h in enumerate(hf_states[:-1]):
            assert_close(layer_logits[layer], model.lm_head(model.norm(h)),
                         f"with last_is_normed=True, layer {layer} still goes through the final norm")
        stacked = ex.early_exit_logits(torch.stack(hf_states), model.norm, model.lm_head,
                                       last_is_normed=True)
        assert_close(stacked, layer_logits, "last_is_normed works on a stacked tensor too")


def test_early_exit_on_the_worlds_transformer():
    hw = retreat.load_support("hallucination_world")
    world, model = hw.pretrained()  # trains a small transformer once per run
    questions = hw.question_ids(world)  # (200, 3): "<bos> person born"
    with torch.no_grad():
        hidden = model.hidden_states(questions)
        logits = model(questions)
        layer_logits = ex.early_exit_logits([h.clone() for h in hidden], model.ln_f, model.lm_head)
    assert layer_logits.shape == (len(hidden), 200, 3, world.vocab_size), \
        "early exit logits of the world's transformer have shape (L+1, B, T, V)"
    assert_close(layer_logits[-1], logits, "the last layer's early exit equals the transformer's logits")
    city_mass = layer_logits[:, :, -1].softmax(-1)[..., world.city_tokens].sum(-1).mean(-1)  # (L+1,)
    assert city_mass[-1] > 0.9 and city_mass[0] < 0.1, "after the question, the final layer puts " \
        f"its mass on cities and the embeddings alone do not ({city_mass.tolist()})"
    scores, premature = ex.dola_scores(layer_logits[:, :, -1].clone(), [0, 1, 2])
    assert (premature == 0).all(), "at the city position, the embeddings (layer 0) are by far the " \
        "most different from the final layer, so DoLa picks them everywhere"
    for b in range(0, 200, 37):
        assert_close(scores[b], reference_scores(layer_logits[-1, b, -1], layer_logits[0, b, -1], 0.1),
                     f"DoLa scores for person {b}: log p_final - log p_layer0 on the final head")


# ---- Jensen-Shannon ---------------------------------------------------------------------------

def test_jsd_closed_form_on_two_outcomes():
    for a, b in [(0.5, 0.5), (0.9, 0.2), (0.3, 0.6), (0.99, 0.01)]:
        p_logits = torch.log(torch.tensor([a, 1 - a], dtype=torch.float64))
        q_logits = torch.log(torch.tensor([b, 1 - b], dtype=torch.float64))
        expected = torch.tensor(reference_jsd([a, 1 - a], [b, 1 - b]), dtype=torch.float64)
        assert_close(ex.jensen_shannon(p_logits.clone(), q_logits.clone()), expected,
                     f"JSD([{a}, {1 - a:.2f}], [{b}, {1 - b:.2f}]) = 1/2 KL(P||M) + 1/2 KL(Q||M)")


def test_jsd_of_disjoint_distributions_is_log_two():
    p = torch.tensor([0.0, 0.0, NEG_INF, NEG_INF])
    q = torch.tensor([NEG_INF, NEG_INF, 1.0, 3.0])
    assert_close(ex.jensen_shannon(p.clone(), q.clone()), torch.tensor(math.log(2)),
                 "distributions with disjoint supports have JSD = log 2 (and no NaN from 0 * log 0)")


def test_jsd_is_symmetric_zero_on_equal_inputs_and_bounded():
    p = torch.randn(6, 9, 30) * 3
    q = torch.randn(6, 9, 30) * 3
    jsd = ex.jensen_shannon(p.clone(), q.clone())
    assert jsd.shape == (6, 9), "jensen_shannon reduces only the last axis"
    assert_close(ex.jensen_shannon(q.clone(), p.clone()), jsd, "JSD(P, Q) = JSD(Q, P)")
    assert_close(ex.jensen_shannon(p.clone(), p.clone()), torch.zeros(6, 9), "JSD(P, P) = 0")
    assert ((jsd >= 0) & (jsd <= math.log(2) + 1e-6)).all(), "0 <= JSD <= log 2"
    assert_close(ex.jensen_shannon(p + 5.0, q - 2.0), jsd, "JSD depends on the distributions, not the logits' offset")


def test_jsd_broadcasts():
    p = torch.randn(1, 4, 12)
    q = torch.randn(3, 4, 12)
    jsd = ex.jensen_shannon(p.clone(), q.clone())
    assert jsd.shape == (3, 4), "JSD broadcasts (1, 4, V) against (3, 4, V) to (3, 4)"
    assert_close(jsd[2], ex.jensen_shannon(p[0].clone(), q[2].clone()), "broadcast JSD equals the one-by-one JSD")


# ---- DoLa -------------------------------------------------------------------------------------

def reference_scores(final, premature, alpha):
    lp, lq = final.log_softmax(-1), premature.log_softmax(-1)
    head = lp >= lp.max() + math.log(alpha)
    return torch.where(head, lp - lq, torch.tensor(NEG_INF))


def test_premature_layer_has_the_largest_jsd_and_scores_contrast_with_it():
    g = torch.Generator().manual_seed(3)
    layer_logits = torch.randn(7, 2, 6, 20, generator=g) * 2  # (L+1, B, T, V)
    candidates = [0, 2, 4]
    scores, premature = ex.dola_scores(layer_logits.clone(), candidates, alpha=0.1)
    assert scores.shape == (2, 6, 20), "scores have shape (..., V)"
    assert premature.shape == (2, 6), "premature has shape (...)"
    final = layer_logits[-1]
    for b in range(2):
        for t in range(6):
            jsd = [reference_jsd(final[b, t].softmax(-1).tolist(), layer_logits[c, b, t].softmax(-1).tolist())
                   for c in candidates]
            chosen = candidates[max(range(3), key=lambda i: jsd[i])]
            assert_equal(int(premature[b, t]), chosen,
                         f"position ({b}, {t}): the premature layer is the candidate with the largest JSD")
            assert_close(scores[b, t], reference_scores(final[b, t], layer_logits[chosen, b, t], 0.1),
                         f"position ({b}, {t}): log p_final - log p_premature on the head, -inf elsewhere")


def test_each_position_picks_its_own_layer():
    V = 10
    final = torch.zeros(2, V)
    final[:, 0] = 4.0  # (T=2, V)
    near = final.clone()  # layer 1: the same as the final layer
    far = torch.zeros(2, V)  # layer 0: uniform, far from the final layer
    layer_logits = torch.stack([far, near, final])  # (3, 2, V)
    layer_logits[0, 1] = final[1]  # at position 1, layer 0 matches the final layer ...
    layer_logits[1, 1] = 0.0  # ... and layer 1 is the uniform one
    _, premature = ex.dola_scores(layer_logits.clone(), [0, 1], alpha=0.1)
    assert_equal(premature.tolist(), [0, 1], "the premature layer is chosen separately at each position")


def test_a_layer_that_is_not_a_candidate_is_never_used():
    layer_logits = torch.randn(5, 4, 16)
    layer_logits[3] = -layer_logits[-1] * 5  # layer 3 is by far the most different ...
    _, premature = ex.dola_scores(layer_logits.clone(), [0, 1], alpha=0.1)  # ... but not a candidate
    assert set(premature.tolist()) <= {0, 1}, "only candidate layers can be chosen as premature"


def test_implausible_tokens_score_minus_infinity():
    layer_logits = torch.randn(4, 3, 25) * 3
    scores, _ = ex.dola_scores(layer_logits.clone(), [0, 1, 2], alpha=0.2)
    p = layer_logits[-1].softmax(-1)
    assert_equal(torch.isfinite(scores), p >= 0.2 * p.amax(-1, keepdim=True),
                 "the plausible head comes from the final layer: p_final >= alpha * max p_final")


def test_tied_candidates_go_to_the_first_one_listed():
    layer_logits = torch.randn(6, 3, 10)
    layer_logits[-1] = -5 * layer_logits[4]
    layer_logits[1] = layer_logits[4]  # layers 4 and 1 are identical, and far from the final one
    layer_logits[2] = layer_logits[-1]  # layer 2 agrees with the final one
    _, premature = ex.dola_scores(layer_logits.clone(), [4, 2, 1], alpha=0.1)
    assert_equal(premature.tolist(), [4, 4, 4], "on a tie between candidate layers, the one listed "
                 "first in candidate_layers wins (here 4, listed before 1)")


def test_float64_in_float64_out():
    p = torch.randn(3, 7, dtype=torch.float64) * 2
    q = torch.randn(3, 7, dtype=torch.float64) * 2
    jsd = ex.jensen_shannon(p.clone(), q.clone())
    assert jsd.dtype == torch.float64, f"float64 logits give a float64 JSD (got {jsd.dtype})"
    expected = torch.tensor([reference_jsd(a.softmax(-1).tolist(), b.softmax(-1).tolist())
                             for a, b in zip(p, q, strict=True)], dtype=torch.float64)
    assert_close(jsd, expected, "JSD in float64")
    scores, _ = ex.dola_scores(torch.stack([q, p.clone()]), [0])
    assert scores.dtype == torch.float64, f"float64 layer logits give float64 scores (got {scores.dtype})"


def test_inputs_are_not_changed():
    model = TinyResidualLM()
    with torch.no_grad():
        _, hidden_states = model(torch.randint(0, 11, (1, 4)))
        copies = [h.clone() for h in hidden_states]
        ex.early_exit_logits(hidden_states, model.norm, model.lm_head)
    for layer, (now, before) in enumerate(zip(hidden_states, copies, strict=True)):
        assert_equal(now, before, f"early_exit_logits leaves hidden_states[{layer}] unchanged")
    layer_logits = torch.randn(4, 2, 9)
    copy = layer_logits.clone()
    ex.dola_scores(layer_logits, [0, 1])
    ex.jensen_shannon(layer_logits[0], layer_logits[1])
    assert_equal(layer_logits, copy, "dola_scores and jensen_shannon leave their inputs unchanged")
