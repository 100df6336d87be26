"""Draw training_temperature_topk.svg: one next-token distribution under temperature and top-k.

Run from the repository root: python docs/figures/src/training_temperature_topk.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "training_temperature_topk.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does

logits = np.sort(np.random.default_rng(0).normal(0.0, 1.5, size=10))[::-1]
tokens = np.arange(len(logits))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def top_k(z, k):
    kth = np.sort(z)[::-1][k - 1]
    return np.where(z >= kth, z, -np.inf)


panels = [
    ("t = 0.5 (sharper)", softmax(logits / 0.5)),
    ("t = 1 (the model's own)", softmax(logits)),
    ("t = 2 (flatter)", softmax(logits / 2.0)),
    ("t = 1, top-k = 3", softmax(top_k(logits, 3))),
]
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8), sharey=True)
for ax, (title, p) in zip(axes, panels, strict=True):
    colors = ["tab:blue" if q > 0 else "lightgray" for q in p]
    ax.bar(tokens, p, color=colors)
    ax.set_title(title, fontsize=10)
    ax.set_xticks(tokens)
    ax.set_xlabel("token (sorted by logit)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.text(0.97, 0.95, f"entropy {-(p[p > 0] * np.log(p[p > 0])).sum():.2f}", transform=ax.transAxes,
            ha="right", va="top", fontsize=8)
axes[0].set_ylabel("probability")
fig.suptitle("One next-token distribution: temperature divides the logits; top-k zeroes the tail and renormalises",
             fontsize=10)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
