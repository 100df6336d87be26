"""GELU (tanh approximation), SiLU and LayerNorm: the non-linearities and the normalisation of a
transformer block, written from their formulas.

- GELU weights its input by the probability that a standard normal variable is below it,
  x * Phi(x). GPT-2 uses the tanh approximation of Phi:

      gelu_tanh(x) = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))

- SiLU (also called Swish) weights its input by a sigmoid: silu(x) = x * sigmoid(x). Llama's
  MLP uses it.

- LayerNorm normalises every vector over its last axis (the C features of one token) to mean 0
  and variance 1, then scales and shifts each feature by learned `weight` and `bias`:

      layer_norm(x) = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias

  with the *biased* variance (divide by C, not C - 1), and eps inside the square root.

Each function must match its PyTorch counterpart: F.gelu(x, approximate="tanh"), F.silu and
F.layer_norm(x, (C,), weight, bias, eps).
"""

import math

import torch


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation, elementwise. Any shape; returns x's shape and dtype."""
    # TODO: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).
    raise NotImplementedError


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU / Swish, x * sigmoid(x), elementwise. Any shape; returns x's shape and dtype."""
    # TODO: multiply x by its sigmoid.
    raise NotImplementedError


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               eps: float = 1e-5) -> torch.Tensor:
    """Normalise over the last axis, then scale by `weight` and shift by `bias`.

    x: (..., C), e.g. (B, T, C). weight, bias: (C,). Returns x's shape.
    """
    # TODO: mean and biased variance over the last axis (keepdim=True), normalise with
    #       sqrt(var + eps), then multiply by weight and add bias.
    raise NotImplementedError
