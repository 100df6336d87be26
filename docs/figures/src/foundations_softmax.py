"""Draw docs/figures/foundations_softmax.svg: softmax ignores a shift; exp() alone overflows."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_softmax.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids, so the file only changes when the picture does


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def main():
    logits = np.array([2.0, 1.0, 0.2, -1.0, 0.5])
    tokens = ["the", "a", "cat", "sat", "on"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))

    idx = np.arange(len(tokens))
    for shift, offset, color in [(0.0, -0.2, "tab:blue"), (1000.0, 0.2, "tab:orange")]:
        ax1.bar(idx + offset, softmax(logits + shift), width=0.4, color=color,
                label=f"softmax(x + {shift:g})")
    ax1.set_xticks(idx, tokens)
    ax1.set_ylabel("probability")
    ax1.set_title("Same probabilities after adding 1000 to every logit")
    ax1.legend(frameon=False)

    x = np.linspace(-100, 100, 401)
    ax2.plot(x, x / np.log(10), color="tab:blue", label="log10 exp(x)")
    ax2.axhline(np.log10(np.finfo(np.float32).max), color="tab:red", ls="--",
                label="largest float32 (exp(x) = inf above x = 88.7)")
    ax2.axvspan(np.log(np.finfo(np.float32).max), 100, color="tab:red", alpha=0.1)
    ax2.set_xlabel("logit x")
    ax2.set_ylabel("log10 of exp(x)")
    ax2.set_title("Why we subtract the maximum first")
    ax2.legend(frameon=False, loc="upper left", fontsize=8)

    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
