"""Draw training_lora_rank.svg: the shapes of W, B and A, and what a low rank saves.

Run from the repository root: python docs/figures/src/training_lora_rank.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "training_lora_rank.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does

D_IN, D_OUT, R = 40, 32, 4  # drawn to scale (small, so the picture is readable)

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.5, 1]})


def box(x, y, w, h, color, label, sub):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=color, edgecolor="black", lw=1))
    ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=12, weight="bold")
    ax.text(x + w / 2, y - 3, sub, ha="center", va="top", fontsize=8)


box(0, 0, D_IN, D_OUT, "#d9d9d9", "W", f"frozen\n{D_OUT} x {D_IN} = {D_OUT * D_IN}")
ax.text(D_IN + 5, D_OUT / 2, "+", fontsize=16, ha="center", va="center")
ax.text(D_IN + 13, D_OUT / 2, r"$\frac{\alpha}{r}$", fontsize=14, ha="center", va="center")
box(D_IN + 19, 0, R, D_OUT, "#fdae6b", "B", f"zeros at start\n{D_OUT} x {R}")
ax.text(D_IN + 19 + R + 4, D_OUT / 2, "@", fontsize=12, ha="center", va="center")
box(D_IN + R + 27, D_OUT - R, D_IN, R, "#9ecae1", "A", f"random at start\n{R} x {D_IN}")
ax.text(D_IN + R + 27 + D_IN / 2, D_OUT / 2 - 4, f"trainable: r (d_in + d_out)\n= {R} x ({D_IN} + {D_OUT}) = "
        f"{R * (D_IN + D_OUT)}", ha="center", va="center", fontsize=9)
ax.set_xlim(-2, 2 * D_IN + R + 30)
ax.set_ylim(-14, D_OUT + 3)
ax.set_aspect("equal")
ax.axis("off")
ax.set_title(f"W + (alpha / r) B A  with d_in = {D_IN}, d_out = {D_OUT}, r = {R}", fontsize=10)

d = 4096
ranks = [1, 2, 4, 8, 16, 32, 64, 128, 256]
ax2.loglog(ranks, [2 * r * d for r in ranks], "o-", color="tab:orange", label="LoRA: r (d_in + d_out)")
ax2.axhline(d * d, color="gray", ls="--", label="full update: d_out d_in")
ax2.set_xlabel("rank r")
ax2.set_ylabel("trainable numbers per matrix")
ax2.set_title(f"A {d} x {d} projection (a 7B-model size)", fontsize=10)
ax2.legend(fontsize=8, loc="lower right")
ax2.text(1.1, 2.5e6, f"r = 8: {2 * 8 * d / (d * d):.2%} of the full matrix", fontsize=8)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
