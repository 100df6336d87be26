"""Draw docs/figures/foundations_losses.svg: cross-entropy against the target's logit margin.

Ten classes; the target's logit is z and the nine others are 0. Without smoothing the loss keeps
falling as z grows; with label smoothing eps it has a minimum at a finite margin.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_losses.svg"
plt.rcParams["svg.hashsalt"] = "retreat"
C = 10


def loss(z, eps):
    log_norm = np.logaddexp(z, np.log(C - 1))  # log(e^z + 9)
    logp_target = z - log_norm
    logp_other = -log_norm
    smooth = -(logp_target + (C - 1) * logp_other) / C
    return (1 - eps) * -logp_target + eps * smooth


def main():
    z = np.linspace(-2, 12, 400)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for eps, color in [(0.0, "tab:blue"), (0.1, "tab:orange"), (0.3, "tab:green")]:
        y = loss(z, eps)
        ax.plot(z, y, color=color, label=f"label_smoothing = {eps:g}")
        if eps > 0:
            i = int(np.argmin(y))
            ax.plot(z[i], y[i], "o", color=color)
    ax.axhline(np.log(C), color="gray", ls=":", label=f"log C = {np.log(C):.2f} (all logits equal)")
    ax.set_xlabel("target logit minus the other logits")
    ax.set_ylabel("cross-entropy")
    ax.set_title("With smoothing the best margin is finite (dots)")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
