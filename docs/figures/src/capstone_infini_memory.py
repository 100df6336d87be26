"""Draw docs/figures/capstone_infini_memory.svg: what Infini-attention reads and what it stores.

Left: for each query, the keys it reads exactly (causal attention inside its segment) and the
keys it reads through the compressive memory (every earlier segment).
Right: floats stored per head as the sequence grows, a KV cache against the memory.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "capstone_infini_memory.svg"
T, L, D = 24, 6, 64


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "capstone"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.4))

    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    local = (j <= i) & (i // L == j // L)
    memory = (j // L) < (i // L)
    colours = np.full((T, T, 3), 0.93)
    colours[memory] = (0.95, 0.7, 0.45)
    colours[local] = (0.25, 0.45, 0.8)
    ax1.imshow(colours, interpolation="nearest")
    for b in range(L, T, L):
        ax1.axhline(b - 0.5, color="white", lw=1)
        ax1.axvline(b - 0.5, color="white", lw=1)
    ax1.set_xlabel("key position j")
    ax1.set_ylabel("query position i")
    ax1.set_title(f"Segments of {L}: blue read exactly, orange via memory")

    tokens = np.arange(0, 32769, 1024)
    ax2.plot(tokens, 2 * tokens * D / 1e6, label="KV cache: 2·T·D")
    ax2.plot(tokens, np.full(tokens.shape, (D * D + D) / 1e6), label="compressive memory: D·D + D")
    ax2.set_xlabel("tokens seen T")
    ax2.set_ylabel("millions of floats per head and layer")
    ax2.set_title(f"What is stored (head_dim D = {D})")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
