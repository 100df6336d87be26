"""Classification fine-tuning: put a small classifier on a pretrained causal model, train only a few parts.

A causal language model gives one hidden state per position, `(B, T, C)`. To classify a whole
sequence (spam or not, positive or negative), we need one vector per sequence. In a causal model
only the LAST token has attended to every other token, so its hidden state is the summary to use.
With padding, "last" means the last REAL token: a pad position has seen the pads before it.

You write:

- `last_token_pool(hidden, attention_mask=None)`: the hidden state of each sequence's last real
  token, `(B, T, C) -> (B, C)`.
- `ClassifierHead(d_model, n_classes)`: that pooling followed by a linear layer `proj`.
- `freeze_all_but(model, names)`: make only the named submodules trainable.
- `count_trainable(model)`: the number of parameters that will be updated.

`attention_mask` is `(B, T)` with 1 (or True) at real tokens and 0 at padding, as HuggingFace
tokenizers return it. It may pad on the right or on the left.
"""

import torch
import torch.nn as nn


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The hidden state of the last real token of each sequence.

    hidden: (B, T, C). attention_mask: (B, T), nonzero at real tokens; None means no padding.
    Returns (B, C): row b is hidden[b, t_b], where t_b is the LAST position whose mask is nonzero
    (for right padding t_b = length_b - 1; for left padding t_b = T - 1); without a mask, t_b = T - 1.
    """
    ### TODO: without a mask, take the last position. With one, find for each row the largest
    ###       index t where the mask is nonzero, then gather hidden[b, t_b] for every b.
    B, T, C = hidden.shape
    if attention_mask is None:
        return hidden[:, -1, :]
    positions = torch.arange(T, device=hidden.device)  # (T,)
    last = (positions * (attention_mask != 0)).argmax(dim=-1)  # (B,) the largest real position
    return hidden[torch.arange(B, device=hidden.device), last]  # (B, C)
    ### END


class ClassifierHead(nn.Module):
    """Sequence classifier on top of a causal model's hidden states.

    forward(hidden (B, T, d_model), attention_mask (B, T) or None) -> logits (B, n_classes):
    pool the last real token with `last_token_pool`, then apply `self.proj`.
    """

    def __init__(self, d_model: int, n_classes: int):
        super().__init__()
        self.proj = nn.Linear(d_model, n_classes)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        ### TODO: pool (B, T, C) -> (B, C), then project to (B, n_classes).
        return self.proj(last_token_pool(hidden, attention_mask))
        ### END


def freeze_all_but(model: nn.Module, names: list[str]) -> None:
    """Set `requires_grad` so that only parameters inside the named submodules are trainable.

    `names` are names as `model.named_parameters()` spells them, e.g. "head" or "blocks.3" (a
    submodule) or "ln_f.weight" (one parameter). A parameter called `n` stays trainable when
    `n == name` or `n` starts with `name + "."`: "blocks.1" covers "blocks.1.weight" but NOT
    "blocks.10.weight". Every other parameter is frozen, and parameters that were frozen before
    but are named now are unfrozen. Raises ValueError if a name matches no parameter (a typo
    would otherwise freeze the whole model silently).
    """
    ### TODO: check that every name matches some parameter (else ValueError), then set
    ###       p.requires_grad_(True or False) on EVERY parameter, by whether a name covers it.
    params = dict(model.named_parameters())

    def covered(param_name: str, name: str) -> bool:
        return param_name == name or param_name.startswith(name + ".")

    for name in names:
        if not any(covered(n, name) for n in params):
            raise ValueError(f"{name!r} matches no parameter of the model")
    for n, p in params.items():
        p.requires_grad_(any(covered(n, name) for name in names))
    ### END


def count_trainable(model: nn.Module) -> int:
    """The number of scalar parameters with requires_grad set (a shared tensor counts once)."""
    ### TODO: add up p.numel() over the parameters that require a gradient.
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END
