"""Draw docs/figures/foundations_backprop.svg: the MLP's forward pass and the gradients flowing back."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_backprop.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

NODES = [  # (label, shape)
    ("x", "(B, D)"),
    ("h_pre", "(B, H)"),
    ("h", "(B, H)"),
    ("logits", "(B, C)"),
    ("loss", "()"),
]
FORWARD = ["@ W1 + b1", "tanh", "@ W2 + b2", "cross-entropy"]
BACKWARD = [
    "dW1 = x.T @ dh_pre\ndb1 = dh_pre.sum(0)",
    "dh_pre = dh * (1 - h**2)",
    "dh = dlogits @ W2.T\ndW2 = h.T @ dlogits\ndb2 = dlogits.sum(0)",
    "dlogits =\n(softmax - onehot) / B",
]


def main():
    fig, ax = plt.subplots(figsize=(11, 2.8))
    ax.set_xlim(-0.6, 4 * 2.6 + 0.6)
    ax.set_ylim(-1.35, 0.95)
    ax.axis("off")
    xs = [i * 2.6 for i in range(len(NODES))]
    for x, (label, shape) in zip(xs, NODES, strict=True):
        ax.text(x, 0, f"{label}\n{shape}", ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.4", fc="#eef3fb", ec="tab:blue"))
    for i, (fwd, bwd) in enumerate(zip(FORWARD, BACKWARD, strict=True)):
        a, b = xs[i] + 0.55, xs[i + 1] - 0.55
        ax.annotate("", xy=(b, 0.15), xytext=(a, 0.15),
                    arrowprops=dict(arrowstyle="->", color="tab:blue", lw=1.5))
        ax.text((a + b) / 2, 0.45, fwd, ha="center", va="bottom", fontsize=9, color="tab:blue")
        ax.annotate("", xy=(a, -0.2), xytext=(b, -0.2),
                    arrowprops=dict(arrowstyle="->", color="tab:red", lw=1.5))
        ax.text((a + b) / 2, -0.45, bwd, ha="center", va="top", fontsize=8.5, color="tab:red",
                family="monospace")
    ax.text(xs[0] - 0.5, 0.8, "forward: values", color="tab:blue", fontsize=10)
    ax.text(xs[0] - 0.5, -1.3, "backward: gradients of the loss, right to left", color="tab:red",
            fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
