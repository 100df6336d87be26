"""Draw docs/figures/edge_sliding_window.svg: the sliding-window mask, and how far information
reaches after stacking layers."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_sliding_window.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

T, W = 16, 4
q = np.arange(T)[:, None]
k = np.arange(T)[None, :]
band = (k <= q) & (k > q - W)
causal = k <= q

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.3))
img = np.where(band, 2, np.where(causal, 1, 0))
ax1.imshow(img, cmap=plt.matplotlib.colors.ListedColormap(["white", "#deebf7", "#2171b5"]), vmin=0, vmax=2)
ax1.set_xticks(np.arange(-0.5, T), minor=True)
ax1.set_yticks(np.arange(-0.5, T), minor=True)
ax1.grid(which="minor", color="0.85", lw=0.5)
ax1.tick_params(which="minor", length=0)
ax1.set_xlabel("key position")
ax1.set_ylabel("query position")
ax1.set_title(f"window W = {W}: dark = attended, light = causal but dropped", fontsize=10)

# Right: which tokens can influence the last position after 1, 2, 3 layers.
last = T - 1
for layer in range(1, 4):
    reach = max(last - layer * (W - 1), 0)
    ax2.barh(layer, last - reach + 1, left=reach - 0.5, color=plt.cm.Blues(0.3 + 0.2 * layer), edgecolor="0.3")
    ax2.text(reach - 0.2, layer, f"from token {reach}", ha="left", va="center", fontsize=8,
             color="white" if layer > 1 else "black")
ax2.set_xlim(-0.5, T - 0.5)
ax2.set_ylim(0.4, 3.6)
ax2.set_yticks([1, 2, 3], ["1 layer", "2 layers", "3 layers"])
ax2.set_xlabel("token position")
ax2.set_title(f"what can reach position {last}: L(W - 1) tokens back after L layers", fontsize=10)

fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
