"""Draw docs/figures/edge_gqa_heads.svg: which key/value head each query head reads, for
multi-head, grouped-query and multi-query attention (8 query heads)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_gqa_heads.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

H = 8
panels = [(8, "multi-head (G = H = 8)"), (2, "grouped-query (G = 2)"), (1, "multi-query (G = 1)")]
colors = plt.cm.tab10.colors

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, (G, title) in zip(axes, panels, strict=True):
    n_rep = H // G
    for j in range(H):
        g = j // n_rep
        ax.add_patch(FancyBboxPatch((j - 0.35, 1.6), 0.7, 0.5, boxstyle="round,pad=0.02",
                                    fc=colors[g % 10], ec="0.3", alpha=0.85))
        ax.text(j, 1.85, f"q{j}", ha="center", va="center", fontsize=8, color="white")
        center = (g + 0.5) * n_rep - 0.5  # kv head g sits under its group
        ax.plot([j, center], [1.6, 0.6], color=colors[g % 10], lw=1)
    for g in range(G):
        center = (g + 0.5) * n_rep - 0.5
        width = min(0.7 + 0.9 * (n_rep - 1), 7.2)
        ax.add_patch(FancyBboxPatch((center - width / 2, 0.1), width, 0.5, boxstyle="round,pad=0.02",
                                    fc="white", ec=colors[g % 10], lw=2))
        label = f"k{g}\nv{g}" if n_rep == 1 else f"k{g}, v{g}"
        ax.text(center, 0.35, label, ha="center", va="center", fontsize=8)
    ax.text(3.5, -0.35, f"KV cache: {G}/{H} of multi-head's", ha="center", fontsize=9, color="0.3")
    ax.set_xlim(-0.8, H - 0.2)
    ax.set_ylim(-0.6, 2.4)
    ax.axis("off")
    ax.set_title(title, fontsize=10)

fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
