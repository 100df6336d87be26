"""Softmax, log-softmax and logsumexp, written by hand and safe for large logits.

A language model ends in a vector of logits, one real number per token of the vocabulary.
Softmax turns them into probabilities:

    softmax(x)_i = exp(x_i) / sum_j exp(x_j)

Written literally, exp(x_i) overflows to inf as soon as a logit passes about 89 (float32), and
inf / inf is NaN. The cure is that softmax does not change when the same constant is subtracted
from every logit, so subtract the largest one first: then every exponent is <= 0, the largest
term is exp(0) = 1, and nothing overflows.

Write three functions, each along the axis `dim` (default: the last one), returning a tensor of
the same dtype as `x` (float16, bfloat16, float32 or float64):

- `logsumexp(x, dim)`: log(sum_j exp(x_j)), with the maximum pulled out (that axis removed).
- `log_softmax(x, dim)`: x_i - logsumexp(x), the log-probabilities a loss needs.
- `softmax(x, dim)`: the probabilities, each slice along `dim` summing to 1.

Half precision needs one more step. float16 tops out at 65504, so the sum of 70,000 terms of
size 1 (uniform logits over a Llama-3-sized vocabulary) is already inf, and every probability
becomes 0; bfloat16 keeps the range but only about 3 significant digits. So float16 and bfloat16
inputs are computed in float32 and the result is cast back to x's dtype once, at the end
(float32 and float64 inputs are computed as they are). The tests compare with torch's op on
`x.float()`, cast back.

None of the functions may modify `x`: write `x - m`, never `x -= m`.

Do not call torch's own softmax, log_softmax or logsumexp: the point is to write them.
"""

import torch


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(sum(exp(x))) along `dim`, computed without overflow.

    x: any shape, e.g. (B, T, V). Returns x's shape with `dim` removed, e.g. (B, T).
    Uses logsumexp(x) = m + log(sum(exp(x - m))) where m is the maximum along `dim`.
    """
    ### TODO: compute in float32 at least (xf = x.to(torch.promote_types(x.dtype, torch.float32))),
    ###       take the maximum m along `dim` (keepdim=True), sum exp(xf - m) along `dim`,
    ###       take its log and add m back; squeeze `dim` away and cast back to x.dtype.
    xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float16/bfloat16 -> float32
    m = xf.amax(dim=dim, keepdim=True)  # (..., 1, ...)
    out = (xf - m).exp().sum(dim=dim, keepdim=True).log() + m
    return out.squeeze(dim).to(x.dtype)
    ### END


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-probabilities along `dim`: x - logsumexp(x). Same shape as x.

    Subtract the maximum first and the (small) log of the sum second: (x - m) - log(sum(exp(x - m))).
    Computing x - logsumexp(x) directly loses digits when the logits are large.
    """
    ### TODO: in float32 at least (as in logsumexp), shift by the maximum along `dim`
    ###       (keepdim=True), subtract the log of the sum of exp of the shifted values along `dim`
    ###       (keepdim=True), and cast back to x.dtype.
    xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float16/bfloat16 -> float32
    shifted = xf - xf.amax(dim=dim, keepdim=True)
    return (shifted - shifted.exp().sum(dim=dim, keepdim=True).log()).to(x.dtype)
    ### END


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities along `dim`: exp(x) normalised to sum to 1. Same shape as x."""
    ### TODO: in float32 at least (as in logsumexp), subtract the maximum along `dim`,
    ###       exponentiate, divide by the sum along `dim`, and cast back to x.dtype.
    xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float16/bfloat16 -> float32
    e = (xf - xf.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
    ### END
