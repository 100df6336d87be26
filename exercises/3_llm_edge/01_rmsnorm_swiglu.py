"""RMSNorm and SwiGLU: the normalisation and the feed-forward block of a Llama layer.

Llama replaced GPT-2's LayerNorm and GELU MLP with two simpler, better pieces:

RMSNorm rescales each vector by its root mean square and multiplies by a learned gain.
It does not subtract the mean and has no bias:

    y = x / sqrt(mean(x**2) + eps) * weight        (mean over the last axis)

SwiGLU is a gated feed-forward block. One projection ("gate") goes through SiLU and
multiplies, element by element, a second projection ("up"); a third projection ("down")
brings the result back to the model width:

    SwiGLU(x) = down_proj(silu(gate_proj(x)) * up_proj(x))

None of the three linear layers has a bias. The names gate_proj, up_proj and down_proj are
those of HuggingFace's LlamaMLP, so a real checkpoint loads into this module unchanged.

Half precision. Real checkpoints run in bfloat16 or float16, where squaring and averaging lose
too much: float16 overflows for |x| > 256 (x**2 > 65504) and flushes x**2 to 0 for |x| < 2e-4.
So RMSNorm computes its statistic and the division in float32, casts the normalised vector back
to the input's dtype, and only then multiplies by `weight`, in this order, as HuggingFace's
LlamaRMSNorm and Meta's reference code do. A model converted with `.to(torch.bfloat16)` (weight
bfloat16 too) then gets bfloat16 out of every norm.

Your task: write RMSNorm.forward and SwiGLU.__init__ / SwiGLU.forward. The tests compare
RMSNorm against torch.nn.RMSNorm(dim, eps=1e-6) in float32 and against the float32-then-cast
recipe in bfloat16 and float16, and SwiGLU against the formula above.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401 (F.silu is yours to call)


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last axis, with a learned gain `weight` (dim,)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        # TODO: the learned gain: a parameter named weight, of shape (dim,), initialised to ones.
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., dim) -> (..., dim), each vector divided by its RMS, times `weight`.

        The statistic and the division are computed in float32 whatever x's dtype; the result is
        cast back to x.dtype before the multiplication by `weight`, so a bfloat16 module on a
        bfloat16 input returns bfloat16. x itself is never modified.
        """
        # TODO: divide x by sqrt(mean of x**2 over the last axis + eps), then multiply by weight.
        #       Keep the last axis with keepdim=True so the division broadcasts.
        #       Work on a float32 copy of x (x.float()), cast the normalised vector back to
        #       x.dtype, then multiply by weight. Never write into x (no in-place ops on it:
        #       for a float32 x, x.float() is x itself).
        raise NotImplementedError


class SwiGLU(nn.Module):
    """Gated feed-forward block: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        # TODO: create three nn.Linear layers without bias: gate_proj and up_proj
        #       (dim -> hidden_dim) and down_proj (hidden_dim -> dim).
        #       Use exactly these attribute names (they match HuggingFace's LlamaMLP).
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., dim) -> (..., dim)."""
        # TODO: gate with SiLU, multiply by the up projection, project back down.
        raise NotImplementedError
