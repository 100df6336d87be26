"""Draw docs/figures/capstone_sink_cache.svg: which keys each query sees with attention sinks.

Left: a plain sliding window. Right: StreamingLLM's cache, the same window plus 2 sink tokens.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

T, N_SINKS, WINDOW = 16, 2, 5
OUT = Path(__file__).resolve().parents[1] / "capstone_sink_cache.svg"


def mask(n_sinks: int, window: int) -> np.ndarray:
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    return (j <= i) & ((j < n_sinks) | (j > i - window))  # window: recent keys, the query included


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "capstone"
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4))
    panels = [(0, "sliding window only"), (N_SINKS, f"window + {N_SINKS} attention sinks")]
    for ax, (n_sinks, title) in zip(axes, panels, strict=True):
        m = mask(n_sinks, WINDOW).astype(float)
        colours = np.where(m[..., None] > 0, np.array([0.25, 0.45, 0.8]), np.array([0.93, 0.93, 0.93]))
        if n_sinks:
            sink = np.zeros((T, T), dtype=bool)
            sink[:, :n_sinks] = True
            sink &= m > 0
            colours[sink] = np.array([0.85, 0.35, 0.2])
        ax.imshow(colours, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("key position j")
        ax.set_ylabel("query position i")
        ax.set_xticks(range(0, T, 3))
        ax.set_yticks(range(0, T, 3))
    fig.suptitle(f"Keys each query attends to when decoding token by token (window = {WINDOW})")
    fig.text(0.5, 0.01, "blue: the recent window (the query itself included)   orange: sink tokens, kept for ever",
             ha="center")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
