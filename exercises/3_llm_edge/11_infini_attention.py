"""Infini-attention: local attention plus a fixed-size compressive memory of everything before.

"Leave No Context Behind: Efficient Infinite Context Transformers with Infini-attention"
(arXiv 2404.07143) cuts the sequence into segments of `segment_len` tokens. Inside a segment,
heads run ordinary causal attention. Across segments, each head keeps a linear-attention memory
that never grows: a matrix M (head_dim x head_dim) and a normaliser z (head_dim), with the
feature map sigma(x) = ELU(x) + 1 (always positive).

For each segment s, with Q, K, V its (B, H, L, head_dim) projections:

    retrieve:   A_mem   = sigma(Q) M_{s-1} / (sigma(Q) z_{s-1})          (memory of earlier segments)
    local:      A_local = causal softmax attention within the segment
    combine:    A = sigmoid(beta) * A_mem + (1 - sigmoid(beta)) * A_local   (beta: one scalar per head)
    update:     linear: M_s = M_{s-1} + sigma(K)^T V
                delta:  M_s = M_{s-1} + sigma(K)^T (V - sigma(K) M_{s-1} / (sigma(K) z_{s-1}))
                z_s = z_{s-1} + sum over the segment's tokens of sigma(K)

Retrieve *before* you update: a segment must not read its own (future) tokens from memory.
M_0 and z_0 are zeros; where the normaliser is 0 the retrieval is 0 (clamp it to eps).

You write elu_plus_one, memory_retrieve, memory_update and InfiniAttention.segment_step;
forward (given) projects the heads, cuts the segments and carries the memory from one to the next.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401 (F.elu and F.scaled_dot_product_attention are yours to call)

Memory = tuple[torch.Tensor, torch.Tensor]  # (M, z): (B, H, D, D) and (B, H, D)


def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    """The memory's feature map sigma(x) = ELU(x) + 1, elementwise and always > 0."""
    # TODO: one line with F.elu.
    raise NotImplementedError


def memory_retrieve(sigma_q: torch.Tensor, memory: torch.Tensor, norm: torch.Tensor,
                    eps: float = 1e-6) -> torch.Tensor:
    """Read the memory: sigma(Q) M / (sigma(Q) z), with the denominator clamped to at least eps.

    sigma_q: (B, H, L, D); memory: (B, H, D, Dv); norm: (B, H, D). Returns (B, H, L, Dv).
    """
    # TODO: a matmul for the numerator, a matmul with norm (as a column) for the denominator.
    raise NotImplementedError


def memory_update(memory: torch.Tensor, norm: torch.Tensor, sigma_k: torch.Tensor, v: torch.Tensor,
                  update: str = "linear") -> tuple[torch.Tensor, torch.Tensor]:
    """Write a segment into the memory; returns the new (memory, norm), inputs left unchanged.

    sigma_k: (B, H, L, D), v: (B, H, L, Dv). "linear" adds sigma(K)^T V; "delta" first subtracts
    from V what the memory already returns for these keys, so storing it again changes nothing.
    """
    # TODO: for "delta", replace v by v - memory_retrieve(sigma_k, memory, norm); then add
    #       sigma_k^T v to the memory and sigma_k summed over the segment to the norm.
    raise NotImplementedError


class InfiniAttention(nn.Module):
    """Multi-head causal self-attention over segments, with a compressive memory per head."""

    def __init__(self, d_model: int, n_heads: int, segment_len: int, update: str = "linear"):
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be a multiple of n_heads"
        assert update in ("linear", "delta"), "update is 'linear' or 'delta'"
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.segment_len = segment_len
        self.update = update
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.o_proj = nn.Linear(d_model, d_model, bias=False)
        self.beta = nn.Parameter(torch.zeros(n_heads))  # gate logit per head; sigmoid(0) = 1/2

    def empty_memory(self, batch_size: int) -> Memory:
        """M_0 and z_0: zeros of shape (B, H, head_dim, head_dim) and (B, H, head_dim)."""
        D = self.head_dim
        weight = self.q_proj.weight
        memory = torch.zeros(batch_size, self.n_heads, D, D, dtype=weight.dtype, device=weight.device)
        norm = torch.zeros(batch_size, self.n_heads, D, dtype=weight.dtype, device=weight.device)
        return memory, norm

    def segment_step(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     memory: Memory) -> tuple[torch.Tensor, Memory]:
        """One segment. q, k, v: (B, H, L, D); memory: (M, z) holding the earlier segments.

        Returns (out, (M, z)): out (B, H, L, D) mixes the memory read and the local causal
        attention with the gate sigmoid(beta); the new memory also holds this segment.
        """
        M, z = memory
        gate = torch.sigmoid(self.beta).view(1, -1, 1, 1)  # (1, H, 1, 1)
        # TODO: local causal attention (F.scaled_dot_product_attention(..., is_causal=True)); read
        #       the memory with sigma(q); mix: gate * read + (1 - gate) * local; *then* write
        #       sigma(k), v into the memory with self.update. Return the mix and the new memory.
        raise NotImplementedError

    def forward(self, x: torch.Tensor, memory: Memory | None = None) -> tuple[torch.Tensor, Memory]:
        """x: (B, T, d_model), any T (the last segment may be shorter than segment_len).

        `memory` is the (M, z) returned by an earlier call, to continue a stream; None starts
        empty. Returns (y, (M, z)): y is (B, T, d_model), and (M, z) holds every segment seen.
        """
        B, T, C = x.shape
        H, D = self.n_heads, self.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, H, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, D).transpose(1, 2)
        memory = self.empty_memory(B) if memory is None else memory
        outs = []
        for start in range(0, T, self.segment_len):  # segments in order: each reads what the earlier wrote
            seg = slice(start, start + self.segment_len)
            out, memory = self.segment_step(q[:, :, seg], k[:, :, seg], v[:, :, seg], memory)
            outs.append(out)
        y = torch.cat(outs, dim=2).transpose(1, 2).reshape(B, T, C)  # (B, T, d_model)
        return self.o_proj(y), memory
