"""LoRA: fine-tune a big linear layer by learning a small low-rank correction to it.

Fine-tuning changes a weight matrix W (d_out, d_in) by some update ΔW. LoRA bets that a useful
update has low rank, and learns it as a product of two thin matrices:

    ΔW = (alpha / rank) * B @ A,    A: (rank, d_in),  B: (d_out, rank)

W stays frozen; only A and B are trained, rank * (d_in + d_out) numbers instead of d_out * d_in.
B starts at zero, so a fresh adapter changes nothing and training starts from the pretrained
model. After training, `merge()` adds ΔW into W once, and the layer costs no more than before.

You write `LoRALinear(linear, rank, alpha)`: its `__init__` (freeze, create `lora_A` and
`lora_B`), `forward`, and `merge`.
"""

import math

import torch
import torch.nn as nn


class LoRALinear(nn.Module):
    """A frozen `nn.Linear` plus a trainable low-rank update.

    linear: the pretrained layer, kept as `self.base` (weight (d_out, d_in), optional bias).
    rank: r, the inner dimension of the update. alpha: its scale; the update is multiplied by
    `self.scaling = alpha / rank`, so trying another rank needs little retuning of the learning rate.
    Parameters: `self.lora_A` (r, d_in), random like an nn.Linear weight (kaiming uniform);
    `self.lora_B` (d_out, r), zeros. Both have the base weight's dtype and device.
    forward(x (..., d_in)) -> (..., d_out) = base(x) + scaling * x @ A^T @ B^T.
    """

    def __init__(self, linear: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = linear
        self.rank = rank
        self.alpha = alpha
        self.scaling = alpha / rank
        self.merged = False
        d_out, d_in = linear.weight.shape
        factory = {"dtype": linear.weight.dtype, "device": linear.weight.device}
        # TODO: freeze every parameter of the base layer (requires_grad False); create
        #       self.lora_A (rank, d_in), initialised with nn.init.kaiming_uniform_(A, a=math.sqrt(5)),
        #       and self.lora_B (d_out, rank) of zeros, both as nn.Parameter with **factory.
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: the base output, plus (unless merged) the scaled low-rank path through A then B.
        raise NotImplementedError

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """Add `scaling * B @ A` into the base weight, once; afterwards forward skips the adapter.

        The layer computes the same function before and after. Calling merge again does nothing.
        Returns the merged base layer, a plain nn.Linear that can replace this module.
        """
        # TODO: unless already merged, add the update to self.base.weight in place and set self.merged.
        raise NotImplementedError
