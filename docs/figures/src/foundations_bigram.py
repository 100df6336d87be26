"""Draw docs/figures/foundations_bigram.svg: a counted bigram table, and gradient descent reaching it.

A random 6-token Markov chain generates 2000 tokens. Left: the counted (maximum-likelihood)
table P(next | current). Right: the gap between the trained model and the counts (the weighted
KL divergence, which equals the extra NLL) while W is trained from zeros by gradient descent.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_bigram.svg"
plt.rcParams["svg.hashsalt"] = "retreat"
V, N = 6, 2000


def stream(rng):
    T = rng.random((V, V)) + 0.2
    T /= T.sum(axis=1, keepdims=True)
    ids = np.zeros(N, dtype=int)
    for t in range(1, N):
        ids[t] = rng.choice(V, p=T[ids[t - 1]])
    return ids


def softmax(W):
    e = np.exp(W - W.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    rng = np.random.default_rng(0)
    ids = stream(rng)
    counts = np.zeros((V, V))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    P = counts / counts.sum(axis=1, keepdims=True)
    weights = counts.sum(axis=1) / counts.sum()

    gaps = {}
    for lr in (1.0, 10.0):
        W = np.zeros((V, V))
        gap = []
        for _ in range(150):
            Q = softmax(W)
            gap.append(float((weights * (P * np.log(P / Q)).sum(axis=1)).sum()))
            grad = (weights[:, None] * Q) - counts / counts.sum()  # gradient of the mean NLL
            W -= lr * grad
        gaps[lr] = gap

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    im = ax1.imshow(P, cmap="Blues", vmin=0)
    for a in range(V):
        for b in range(V):
            ax1.text(b, a, f"{P[a, b]:.2f}", ha="center", va="center", fontsize=7)
    ax1.set_xlabel("next token b")
    ax1.set_ylabel("current token a")
    ax1.set_title("Counted P(next = b | current = a)")
    fig.colorbar(im, ax=ax1, fraction=0.046)

    for lr, color in [(1.0, "tab:orange"), (10.0, "tab:blue")]:
        ax2.semilogy(gaps[lr], color=color, label=f"gradient descent, lr = {lr:g}")
    ax2.axhline(1e-3, color="gray", ls=":", label="the test's bar, 1e-3")
    ax2.set_xlabel("step")
    ax2.set_ylabel("KL(counted || trained), weighted")
    ax2.set_title("Training from W = 0 converges to the counts")
    ax2.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
