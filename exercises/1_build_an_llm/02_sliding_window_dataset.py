"""Training pairs for next-token prediction, cut from one long stream of token ids.

A language model learns to predict token t+1 from tokens 0..t. From a tokenized corpus we cut
windows of `max_length` tokens (the inputs); the targets are the same window shifted one token to
the right, so `targets[n, t]` is the token that follows `inputs[n, t]`:

    ids     = [10, 11, 12, 13, 14, 15, 16]         max_length = 3, stride = 2
    inputs  = [[10, 11, 12], [12, 13, 14]]
    targets = [[11, 12, 13], [13, 14, 15]]

Consecutive windows start `stride` tokens apart (stride = max_length: no overlap; stride = 1:
every position starts a window). A window is kept only if its last target exists.

The two tensors are new memory: writing into `targets` (say, -100 at padding) must change neither
`inputs` nor the caller's `ids`. Slices and `Tensor.unfold` return views of `ids`, so copy them
(`torch.stack` does).

Write `make_windows`.
"""

import torch


def make_windows(ids: list[int] | torch.Tensor, max_length: int,
                 stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut `ids` into (inputs, targets) windows for next-token prediction.

    ids:        a 1-D sequence of N token ids (list or tensor)
    max_length: tokens per window (the model's context length during training)
    stride:     distance between the starts of consecutive windows
    returns     inputs, targets: int64 tensors of shape (n_windows, max_length), with
                inputs[n] = ids[s : s + max_length] and targets[n] = ids[s + 1 : s + max_length + 1]
                for s = n * stride; n_windows = (N - max_length - 1) // stride + 1 when
                N > max_length, and 0 otherwise (then both have shape (0, max_length)).
                Both are fresh tensors: they share memory neither with `ids` nor with each other.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    # TODO: for each start s = 0, stride, 2 * stride, ... while s + max_length + 1 <= len(ids),
    #       take the input window ids[s : s + max_length] and the target window one token
    #       later; stack them into two (n_windows, max_length) tensors. Return empty
    #       (0, max_length) tensors when not even one window fits.
    raise NotImplementedError
