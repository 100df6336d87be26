"""Draw docs/figures/foundations_optimizers.svg.

Left: SGD, SGD with momentum and Adam on an elongated quadratic bowl, 60 steps from one start.
Right: Adam's step for a constant gradient, with and without bias correction.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "foundations_optimizers.svg"
plt.rcParams["svg.hashsalt"] = "retreat"
SCALES = np.array([1.0, 20.0])  # loss = 0.5 * (x^2 + 20 y^2): one flat and one steep direction


def grad(p):
    return SCALES * p


def run(kind, steps=60):
    p = np.array([-4.0, 1.0])
    buf, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
    path = [p.copy()]
    for t in range(1, steps + 1):
        g = grad(p)
        if kind == "sgd":
            p = p - 0.09 * g
        elif kind == "momentum":
            buf = 0.8 * buf + g
            p = p - 0.02 * buf
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - 0.3 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        path.append(p.copy())
    return np.array(path)


def main():
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xs, ys = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
    ax1.contour(xs, ys, 0.5 * (xs**2 + 20 * ys**2), levels=12, colors="lightgray", linewidths=0.8)
    for kind, label, color in [("sgd", "SGD, lr 0.09", "tab:red"),
                               ("momentum", "SGD + momentum 0.8, lr 0.02", "tab:blue"),
                               ("adam", "Adam, lr 0.3", "tab:green")]:
        path = run(kind)
        ax1.plot(path[:, 0], path[:, 1], ".-", color=color, ms=3, lw=1, label=label)
    ax1.plot(0, 0, "k*", ms=10)
    ax1.set_title("60 steps on loss = (x² + 20 y²) / 2")
    ax1.legend(frameon=False, fontsize=8, loc="lower right")
    ax1.set_xlabel("x (flat direction)")
    ax1.set_ylabel("y (steep direction)")

    t = np.arange(1, 201)
    m, v = 1 - 0.9**t, 1 - 0.999**t  # running means of a gradient that is always 1, from 0
    ax2.plot(t, m / np.sqrt(v), color="tab:orange", label="m / sqrt(v), no bias correction")
    ax2.plot(t, (m / (1 - 0.9**t)) / np.sqrt(v / (1 - 0.999**t)), color="tab:green",
             label="m_hat / sqrt(v_hat), corrected")
    ax2.set_xlabel("step t")
    ax2.set_ylabel("step size in units of lr")
    ax2.set_title("Adam's step for a constant gradient of 1")
    ax2.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
