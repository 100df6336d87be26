"""Draw docs/figures/foundations_activations.svg: ReLU, GELU and SiLU; and what LayerNorm does to a row."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_activations.svg"
plt.rcParams["svg.hashsalt"] = "retreat"


def main():
    x = np.linspace(-4, 3, 400)
    erf = np.vectorize(math.erf)
    gelu = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    gelu_tanh = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    silu = x / (1 + np.exp(-x))

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax1.plot(x, np.maximum(x, 0), color="gray", ls=":", label="ReLU")
    ax1.plot(x, gelu, color="tab:blue", label="GELU, x·Φ(x)")
    ax1.plot(x, gelu_tanh, color="tab:orange", ls="--", label="GELU, tanh approximation")
    ax1.plot(x, silu, color="tab:green", label="SiLU, x·sigmoid(x)")
    ax1.axhline(0, color="black", lw=0.5)
    ax1.set_title("Smooth gates: negative inputs are damped, not cut")
    ax1.set_xlabel("x")
    ax1.legend(frameon=False)

    rng = np.random.default_rng(0)
    row = rng.normal(3.0, 2.5, size=12)
    normed = (row - row.mean()) / np.sqrt(row.var() + 1e-5)
    idx = np.arange(12)
    before = f"one token's features (mean {row.mean():.1f}, std {row.std():.1f})"
    ax2.bar(idx - 0.2, row, width=0.4, color="tab:gray", label=before)
    ax2.bar(idx + 0.2, normed, width=0.4, color="tab:purple", label="after LayerNorm (mean 0, std 1)")
    ax2.axhline(0, color="black", lw=0.5)
    ax2.set_ylim(-2.5, 9.5)
    ax2.set_xlabel("feature index c")
    ax2.set_title("LayerNorm standardises each token over its features")
    ax2.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
