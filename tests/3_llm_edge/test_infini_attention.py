"""Checks for infini-attention: compressive memory, its update rules, and the gated attention. The
learner's code always gets clones of the inputs; the expected values are computed from the untouched
originals."""

import torch
import torch.nn.functional as F

import retreat
from retreat.testing import assert_close, assert_equal

ex = retreat.load_exercise("infini-attention")

B, T, C, H, L = 2, 20, 16, 2, 6  # T = 3 full segments of L plus a short one


def heads(t):
    """(B, T, C) -> (B, H, T, C // H)."""
    return t.view(t.shape[0], t.shape[1], H, -1).transpose(1, 2)


def sigma(x):
    return F.elu(x) + 1


def make(update="linear", beta=None, seed=0):
    torch.manual_seed(seed)
    m = ex.InfiniAttention(C, H, L, update=update)
    if beta is not None:
        with torch.no_grad():
            m.beta.fill_(beta)
    x = torch.randn(B, T, C)
    return m, x


def clones(*tensors):
    return [t.clone() for t in tensors]


def segment_mask(T, L):
    """Causal inside each segment, nothing across segments."""
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return (j <= i) & (i // L == j // L)


def test_elu_plus_one_is_positive_elu_shifted():
    x = torch.linspace(-8, 5, 50)
    assert_close(ex.elu_plus_one(x), F.elu(x) + 1, "sigma(x) = ELU(x) + 1")
    assert (ex.elu_plus_one(x) > 0).all(), "sigma(x) is strictly positive"


def test_one_stored_pair_is_retrieved_exactly():
    g = torch.Generator().manual_seed(1)
    k, v = torch.randn(2, 1, 1, 1, 4, generator=g)  # one token: (B=1, H=1, L=1, D=4)
    M0, z0 = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4)
    M, z = ex.memory_update(*clones(M0, z0, sigma(k), v), "linear")
    assert_close(M, sigma(k).transpose(-2, -1) @ v, "writing one token stores sigma(k)^T v")
    assert_close(z, sigma(k).sum(-2), "writing one token adds sigma(k) to the normaliser")
    assert_close(ex.memory_retrieve(*clones(sigma(k), M, z)), v, "reading with the stored key returns its value")


def test_empty_memory_reads_zero():
    sq = sigma(torch.randn(1, 2, 3, 4))
    out = ex.memory_retrieve(sq, torch.zeros(1, 2, 4, 5), torch.zeros(1, 2, 4))
    assert_equal(out, torch.zeros(1, 2, 3, 5), "an empty memory (z = 0) reads as zeros, not NaN")


def test_delta_update_is_a_no_op_on_already_stored_values():
    g = torch.Generator().manual_seed(2)
    k1, v1 = torch.randn(2, 2, 3, 5, 4, generator=g)
    M, z = ex.memory_update(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4), sigma(k1), v1, "linear")
    k2 = torch.randn(2, 3, 7, 4, generator=g)
    stored = ex.memory_retrieve(*clones(sigma(k2), M, z))  # what the memory already returns for k2
    M2, z2 = ex.memory_update(*clones(M, z, sigma(k2), stored), "delta")
    assert_close(M2, M, "the delta rule leaves M unchanged when writing values the memory already returns")
    assert_close(z2, z + sigma(k2).sum(-2), "the normaliser still counts the new keys")
    M3, _ = ex.memory_update(*clones(M, z, sigma(k2), stored), "linear")
    assert not torch.allclose(M3, M), "the linear rule, unlike delta, adds the values again"


def test_delta_equals_linear_on_an_empty_memory():
    g = torch.Generator().manual_seed(3)
    k, v = torch.randn(2, 1, 2, 6, 4, generator=g)
    empty = (torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4))
    lin = ex.memory_update(*clones(*empty, sigma(k), v), "linear")
    delta = ex.memory_update(*clones(*empty, sigma(k), v), "delta")
    assert_close(delta[0], lin[0], "on an empty memory the delta rule stores the same as the linear rule")


def test_linear_memory_equals_sigma_k_transpose_v_over_all_segments():
    m, x = make("linear")
    y, (M, z) = m(x.clone())
    k, v = heads(m.k_proj(x)), heads(m.v_proj(x))
    assert_close(M, sigma(k).transpose(-2, -1) @ v, "linear memory after the sequence equals "
                 "sigma(K)^T V summed over every token of every segment", atol=1e-4, rtol=1e-4)
    assert_close(z, sigma(k).sum(-2), "the normaliser is sigma(K) summed over every token", atol=1e-4, rtol=1e-4)
    assert_equal(tuple(y.shape), (B, T, C), "the output has the input's shape (B, T, d_model)")


def test_memory_size_is_constant_in_sequence_length():
    m, _ = make("delta")
    shapes = set()
    for t in (3, 6, 40, 97):
        _, (M, z) = m(torch.randn(1, t, C))
        shapes.add((tuple(M.shape), tuple(z.shape)))
    assert_equal(shapes, {((1, H, C // H, C // H), (1, H, C // H))},
                 "M is (B, H, head_dim, head_dim) and z is (B, H, head_dim) for every sequence length")


def test_closed_gate_is_attention_within_segments():
    m, x = make("linear", beta=-60.0)
    q, k, v = heads(m.q_proj(x)), heads(m.k_proj(x)), heads(m.v_proj(x))
    local = F.scaled_dot_product_attention(q, k, v, attn_mask=segment_mask(T, L))
    expected = m.o_proj(local.transpose(1, 2).reshape(B, T, C))
    assert_close(m(x.clone())[0], expected, "with the gate closed (sigmoid(beta) = 0) the output is causal "
                 "attention inside each segment, nothing across segments", atol=1e-5, rtol=1e-4)


def test_open_gate_reads_the_memory_of_earlier_segments():
    m, x = make("linear", beta=60.0)
    q, k, v = heads(m.q_proj(x)), heads(m.k_proj(x)), heads(m.v_proj(x))
    out = torch.zeros_like(q)
    for s in range(0, T, L):
        before = slice(0, s)
        M = sigma(k[:, :, before]).transpose(-2, -1) @ v[:, :, before]
        z = sigma(k[:, :, before]).sum(-2)
        sq = sigma(q[:, :, s : s + L])
        out[:, :, s : s + L] = (sq @ M) / (sq @ z.unsqueeze(-1)).clamp_min(1e-6)
    expected = m.o_proj(out.transpose(1, 2).reshape(B, T, C))
    assert_close(m(x.clone())[0], expected, "with the gate open (sigmoid(beta) = 1) each segment reads "
                 "sigma(Q) M / (sigma(Q) z) from the earlier segments only", atol=1e-5, rtol=1e-4)


def test_half_open_gate_mixes_both_halves():
    m, x = make("linear", beta=0.0)
    y = m(x)[0]
    with torch.no_grad():
        m.beta.fill_(-60.0)
        y_local = m(x)[0]
        m.beta.fill_(60.0)
        y_mem = m(x)[0]
    assert_close(y, (y_local + y_mem) / 2, "with beta = 0 the output is the average of the local "
                 "and memory outputs", atol=1e-5, rtol=1e-4)


def test_delta_memory_follows_the_delta_rule():
    m, x = make("delta")
    _, (M, z) = m(x.clone())
    k, v = heads(m.k_proj(x)), heads(m.v_proj(x))
    M_ref, z_ref = torch.zeros_like(M), torch.zeros_like(z)
    for s in range(0, T, L):
        sk, vs = sigma(k[:, :, s : s + L]), v[:, :, s : s + L]
        stored = (sk @ M_ref) / (sk @ z_ref.unsqueeze(-1)).clamp_min(1e-6)
        M_ref = M_ref + sk.transpose(-2, -1) @ (vs - stored)
        z_ref = z_ref + sk.sum(-2)
    assert_close(M, M_ref, "delta memory: M += sigma(K)^T (V - sigma(K) M / (sigma(K) z)), segment by segment",
                 atol=1e-4, rtol=1e-4)


def test_future_tokens_do_not_leak():
    for update in ("linear", "delta"):
        m, x = make(update, beta=0.7)
        t = 9  # inside the second segment
        x2 = x.clone()
        x2[:, t:] = torch.randn(B, T - t, C)
        y, y2 = m(x.clone())[0], m(x2.clone())[0]
        assert_close(y2[:, :t], y[:, :t], f"({update}) changing tokens from position {t} on never changes "
                     "earlier outputs: read the memory before writing the segment", atol=1e-5, rtol=1e-5)


def test_streaming_in_two_calls_equals_one_call():
    m, x = make("delta", beta=0.3)
    y, (M, z) = m(x.clone())
    y1, mem = m(x[:, : 2 * L].clone())
    y2, (M2, z2) = m(x[:, 2 * L :].clone(), clones(*mem))
    assert_close(torch.cat([y1, y2], 1), y, "passing the memory on, two calls at a segment boundary "
                 "equal one call", atol=1e-5, rtol=1e-4)
    assert_close(M2, M, "the memory after the two calls equals the memory after one", atol=1e-5, rtol=1e-4)


def test_memory_update_leaves_its_inputs_unchanged():
    g = torch.Generator().manual_seed(5)
    M, z = ex.memory_update(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4),
                            *clones(sigma(torch.randn(1, 2, 3, 4, generator=g)), torch.randn(1, 2, 3, 4, generator=g)),
                            "linear")
    k, v = torch.randn(2, 1, 2, 5, 4, generator=g)
    for update in ("linear", "delta"):
        given = clones(M, z, sigma(k), v)
        ex.memory_update(*given, update)
        for name, before, after in zip(["memory", "norm", "sigma_k", "v"], (M, z, sigma(k), v), given, strict=True):
            assert_equal(after, before, f"memory_update ({update}) returns a new memory and never writes into "
                         f"its {name} argument (no +=: a stream's earlier memory must stay as it was)")


def test_continuing_a_stream_leaves_the_given_memory_unchanged():
    m, x = make("linear", beta=0.3)
    _, mem = m(x[:, : 2 * L].clone())
    given = clones(*mem)
    m(x[:, 2 * L :].clone(), tuple(given))
    assert_equal(given[0], mem[0], "forward(x, memory) leaves the memory it was given unchanged (M)")
    assert_equal(given[1], mem[1], "forward(x, memory) leaves the memory it was given unchanged (z)")
