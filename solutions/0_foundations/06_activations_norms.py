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
F.layer_norm(x, (C,), weight, bias, eps), and return x's dtype.

Models run in bfloat16 or float16, and two of these formulas break in those dtypes. In GELU,
1 + tanh(...) cancels for negative inputs (tanh is close to -1, and bfloat16 keeps about three
digits), so the small negative outputs come out as 0 or far off. In LayerNorm, the mean of
values like 5.01, 5.02... cannot be subtracted in bfloat16 without losing every digit, and in
float16 the squares of deviations above 256 overflow to inf (then every output is 0). So
`gelu_tanh` and `layer_norm` compute float16 and bfloat16 inputs in float32 and cast the result
back to x's dtype once, at the end, as PyTorch does. (`silu` is fine as it is: one product with a
sigmoid.) None of the three may modify x.
"""

import math

import torch


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation, elementwise. Any shape; returns x's shape and dtype.

    float16 and bfloat16 inputs are computed in float32, then cast back.
    """
    ### TODO: in float32 at least (xf = x.to(torch.promote_types(x.dtype, torch.float32))),
    ###       0.5 * xf * (1 + tanh(sqrt(2 / pi) * (xf + 0.044715 * xf**3))), cast back to x.dtype.
    xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float16/bfloat16 -> float32
    y = 0.5 * xf * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (xf + 0.044715 * xf**3)))
    return y.to(x.dtype)
    ### END


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU / Swish, x * sigmoid(x), elementwise. Any shape; returns x's shape and dtype."""
    ### TODO: multiply x by its sigmoid.
    return x * torch.sigmoid(x)
    ### END


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               eps: float = 1e-5) -> torch.Tensor:
    """Normalise over the last axis, then scale by `weight` and shift by `bias`.

    x: (..., C), e.g. (B, T, C). weight, bias: (C,). Returns x's shape and dtype; float16 and
    bfloat16 inputs are normalised in float32, then cast back (weight and bias may be applied
    before the cast, as PyTorch does, or after it; the tests allow either).
    """
    ### TODO: in float32 at least (as in gelu_tanh): mean and biased variance over the last axis
    ###       (keepdim=True), normalise with sqrt(var + eps), multiply by weight and add bias,
    ###       and cast back to x.dtype. Never subtract the mean in place: for float32 input xf IS x.
    xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float16/bfloat16 -> float32
    mean = xf.mean(dim=-1, keepdim=True)  # (..., 1)
    centred = xf - mean  # (..., C)
    var = (centred**2).mean(dim=-1, keepdim=True)  # (..., 1), biased: divides by C
    x_hat = centred / torch.sqrt(var + eps)  # (..., C)
    return (x_hat * weight + bias).to(x.dtype)
    ### END
