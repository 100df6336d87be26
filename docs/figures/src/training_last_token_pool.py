"""Draw training_last_token_pool.svg: which position a causal classifier should pool, with padding.

Rows are query positions, columns the positions they attend to (causal: at most their own).
Run from the repository root: python docs/figures/src/training_last_token_pool.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "training_last_token_pool.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does

TOKENS = ["win", "a", "free", "car", "pad", "pad", "pad"]
REAL = 4
T = len(TOKENS)

fig, ax = plt.subplots(figsize=(6.2, 5.0))
for q in range(T):
    for k in range(T):
        if k > q:
            color = "white"  # the future: masked
        elif k >= REAL:
            color = "#bdbdbd"  # a pad token seen by this position
        else:
            color = "#9ecae1"  # a real token seen by this position
        ax.add_patch(Rectangle((k, T - 1 - q), 0.95, 0.95, facecolor=color, edgecolor="#cccccc", lw=0.6))
for q, (label, color) in {0: ("position 0: has seen 1 token", "tab:red"),
                         REAL - 1: ("last real token: has seen the text, no pads", "tab:green"),
                         T - 1: ("position T-1: has also seen the pads", "tab:red")}.items():
    y = T - 1 - q
    ax.add_patch(Rectangle((-0.05, y - 0.05), T + 0.05, 1.05, fill=False, edgecolor=color, lw=2))
    ax.text(T + 0.2, y + 0.47, label, va="center", fontsize=9, color=color)
ax.set_xticks([k + 0.47 for k in range(T)], TOKENS)
ax.set_yticks([T - 1 - q + 0.47 for q in range(T)], [f"{q}: {t}" for q, t in enumerate(TOKENS)])
ax.set_xlabel("attends to (keys)")
ax.set_ylabel("query position")
ax.set_xlim(-0.1, T + 6.5)
ax.set_ylim(-0.1, T + 0.1)
for side in ("top", "right"):
    ax.spines[side].set_visible(False)
ax.set_title("A right-padded sequence in a causal model: pool the last REAL token", fontsize=10)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
