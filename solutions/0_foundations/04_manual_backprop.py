"""Backpropagation by hand through a two-layer MLP with a cross-entropy loss.

The network, for a batch of B inputs of D features and C classes:

    h_pre  = x @ W1 + b1          (B, H)   first linear layer
    h      = tanh(h_pre)          (B, H)
    logits = h @ W2 + b2          (B, C)   second linear layer
    loss   = mean over the batch of -log softmax(logits)[target]

The forward pass is written for you. Write the backward pass: the gradient of `loss` with
respect to each parameter, using the chain rule one layer at a time, from the loss back to W1.
Do not use autograd (`loss.backward()`, `torch.autograd.grad`): the function must give the same
gradients inside `torch.no_grad()`. The tests compare your gradients with autograd's and check
them against finite differences with `torch.autograd.gradcheck` in float64.
"""

import torch

import retreat

softmax = retreat.load_exercise("softmax")  # your log_softmax


def mlp_forward_backward(x: torch.Tensor, targets: torch.Tensor,
                         params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss and gradients of linear -> tanh -> linear -> mean cross-entropy.

    x: (B, D) float. targets: (B,) int64 class ids in [0, C).
    params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}.
    Returns (loss, grads): loss a scalar tensor (shape ()), grads a dict with the same keys as
    params, each gradient the shape of its parameter.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    B = x.shape[0]

    # forward
    h_pre = x @ W1 + b1  # (B, H)
    h = torch.tanh(h_pre)  # (B, H)
    logits = h @ W2 + b2  # (B, C)
    logp = softmax.log_softmax(logits, dim=-1)  # (B, C)
    loss = -logp[torch.arange(B), targets].mean()

    ### TODO: backward, then return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.
    ###       d loss / d logits is (softmax(logits) - one_hot(targets)) / B. A linear layer
    ###       y = a @ W + b sends back da = dy @ W.T and gets dW = a.T @ dy and db = dy summed
    ###       over the batch; tanh sends back dh * (1 - tanh**2).
    dlogits = logp.exp()  # (B, C), the probabilities
    dlogits[torch.arange(B), targets] -= 1.0
    dlogits = dlogits / B
    dW2 = h.T @ dlogits  # (H, C)
    db2 = dlogits.sum(dim=0)  # (C,)
    dh = dlogits @ W2.T  # (B, H)
    dh_pre = dh * (1.0 - h**2)  # (B, H)
    dW1 = x.T @ dh_pre  # (D, H)
    db1 = dh_pre.sum(dim=0)  # (H,)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END
