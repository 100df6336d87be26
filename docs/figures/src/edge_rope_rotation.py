"""Draw docs/figures/edge_rope_rotation.svg: how RoPE turns each pair of coordinates with position."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_rope_rotation.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

D, base = 64, 10000.0
theta = base ** (-2.0 * np.arange(D // 2) / D)
q = np.array([1.0, 0.3])

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})

# Left: one query pair at positions 0..5, for a fast pair (i = 0) and a slow pair (i = 8).
colors = plt.cm.viridis(np.linspace(0, 0.9, 6))
for pair, style in [(0, "-"), (8, "--")]:
    for m in range(6):
        a = m * theta[pair]
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ q
        ax1.annotate("", xy=rot, xytext=(0, 0),
                     arrowprops=dict(arrowstyle="->", color=colors[m], ls=style, lw=1.6))
        if pair == 0:
            ax1.text(*(rot * 1.12), f"m={m}", fontsize=8, ha="center", va="center", color=colors[m])
circle = plt.Circle((0, 0), np.linalg.norm(q), fill=False, color="0.8", lw=0.8)
ax1.add_patch(circle)
ax1.set_xlim(-1.3, 1.3)
ax1.set_ylim(-1.3, 1.3)
ax1.set_aspect("equal")
ax1.set_xlabel("coordinate i")
ax1.set_ylabel("coordinate i + D/2")
ax1.set_title("pair i=0 (solid) turns 1 rad per position;\npair i=8 (dashed) turns 0.1 rad", fontsize=10)

# Right: cos(m * theta_i) for every position and pair: fast pairs at the top, slow ones below.
m = np.arange(128)
img = np.cos(np.outer(theta, m))
im = ax2.imshow(img, aspect="auto", cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
ax2.set_xlabel("position m")
ax2.set_ylabel("pair i (D = 64)")
ax2.set_title(r"$\cos(m\,\theta_i)$, $\theta_i = 10000^{-2i/D}$", fontsize=10)
fig.colorbar(im, ax=ax2, fraction=0.04)

fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
