"""SGD with momentum and AdamW, written from their update rules.

An optimizer owns a list of parameters and, after `loss.backward()` has filled each `p.grad`,
moves every parameter a little against its gradient. Write two of them, with the interface of
`torch.optim`: `step()` applies one update, `zero_grad()` clears the gradients.

SGD with momentum (PyTorch's form), for each parameter p with gradient g:

    buf = momentum * buf + g            (buf starts at 0, so the first buf is g)
    p   = p - lr * buf

AdamW (Adam with decoupled weight decay), at step t = 1, 2, ... of each parameter:

    p     = p * (1 - lr * weight_decay)          decay the weights directly, not through g
    m     = beta1 * m + (1 - beta1) * g          running mean of the gradient
    v     = beta2 * v + (1 - beta2) * g**2       running mean of its square
    m_hat = m / (1 - beta1**t)                   bias correction: m and v start at 0
    v_hat = v / (1 - beta2**t)
    p     = p - lr * m_hat / (sqrt(v_hat) + eps)

Parameters whose `.grad` is None (frozen, or unused) are skipped, and a skipped parameter's t
does not advance: like torch.optim, AdamW counts t per parameter, the number of updates that
parameter has received (a layer unfrozen after 100 steps starts its own bias correction at t = 1).
`step()` reads `p.grad` and never changes it. After five steps your parameters must equal those
of `torch.optim.SGD` and `torch.optim.AdamW`.
"""

from collections.abc import Iterable

import torch


class Optimizer:
    """Holds the parameters; `zero_grad` clears their gradients before the next backward."""

    def __init__(self, params: Iterable[torch.Tensor]):
        self.params = list(params)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set `p.grad` to None, as torch.optim does)."""
        # TODO: set each parameter's .grad to None.
        raise NotImplementedError


class SGD(Optimizer):
    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0):
        super().__init__(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = [torch.zeros_like(p) for p in self.params]  # one momentum buffer per p

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient, in place."""
        # TODO: for each parameter with a gradient: buf = momentum * buf + grad (in place),
        #       then p -= lr * buf (in place).
        raise NotImplementedError


class AdamW(Optimizer):
    def __init__(self, params: Iterable[torch.Tensor], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.steps = [0 for _ in self.params]  # t of each parameter: the updates it has received
        self.m = [torch.zeros_like(p) for p in self.params]  # first moment, per parameter
        self.v = [torch.zeros_like(p) for p in self.params]  # second moment, per parameter

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW update of every parameter that has a gradient, in place."""
        beta1, beta2 = self.betas
        # TODO: for each parameter i with a gradient: t = self.steps[i] + 1 (store it back);
        #       decay p by (1 - lr * weight_decay); update m and v in place; bias-correct them
        #       with 1 - beta**t; then p -= lr * m_hat / (sqrt(v_hat) + eps).
        raise NotImplementedError
