"""Draw docs/figures/edge_kv_cache.svg: work per decoding step with and without a KV cache,
and how large the cache grows with the context."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_kv_cache.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

prompt, steps = 4, 8
T = prompt + steps
cmap = ListedColormap(["white", "#c6dbef", "#08519c"])  # empty, read from cache, computed

without = np.zeros((steps + 1, T))
with_cache = np.zeros((steps + 1, T))
for s in range(steps + 1):
    n = prompt + s  # tokens that exist at this step
    without[s, :n] = 2  # everything recomputed
    if s == 0:
        with_cache[s, :n] = 2  # prefill computes the prompt once
    else:
        with_cache[s, : n - 1] = 1  # read back from the cache
        with_cache[s, n - 1] = 2  # only the newest token is computed

fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 1, 1.15]})
panels = [
    (axes[0], without, "without a cache: every step recomputes\nthe keys and values of the whole prefix"),
    (axes[1], with_cache, "with a cache: compute the newest token (dark),\nread the others back (light)"),
]
for ax, grid, title in panels:
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=2, aspect="auto")
    ax.set_xticks(np.arange(T))
    ax.set_yticks(np.arange(steps + 1), ["prefill"] + [f"step {s}" for s in range(1, steps + 1)])
    ax.set_xticks(np.arange(-0.5, T), minor=True)
    ax.set_yticks(np.arange(-0.5, steps + 1), minor=True)
    ax.grid(which="minor", color="0.85", lw=0.6)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("token position")
    ax.set_title(title, fontsize=10)

# Right: cache size in float16 for a 32-layer model with 32 heads of 128, MHA vs GQA (8 kv heads).
ctx = np.arange(0, 32769, 512)
for G, label in [(32, "32 kv heads (MHA, Llama 2 7B)"), (8, "8 kv heads (GQA)"), (1, "1 kv head (MQA)")]:
    gib = 2 * 32 * G * 128 * ctx * 2 / 1024**3
    axes[2].plot(ctx / 1024, gib, label=label)
axes[2].set_xlabel("context length (thousands of tokens)")
axes[2].set_ylabel("KV cache, GiB (float16, batch 1)")
axes[2].set_title(r"size $= 2 \cdot L \cdot G \cdot d_h \cdot T \cdot$ bytes", fontsize=10)
axes[2].legend(fontsize=8)
axes[2].grid(alpha=0.3)

fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
