"""Draw docs/figures/edge_attention_memory.svg: extra memory of naive vs tiled attention as the
sequence grows (one head, float32). The curves are the sizes of the tensors each method keeps
alive at its peak; bench/bench_flash_attention.py measures the same thing at T = 4096."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_attention_memory.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

d, b, fp32 = 64, 64, 4
T = 2.0 ** np.arange(7, 17)  # 128 .. 65536
mib = 1024**2
naive = (2 * T * T + T * d) * fp32 / mib  # scores and their scaled/softmaxed copy, plus the output
tiled = (T * d + T + 4 * b * b + 3 * b * d) * fp32 / mib  # output and lse, a few score tiles, accumulators

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(T, naive, "o-", label=r"naive: the $T \times T$ scores, twice")
ax.loglog(T, tiled, "s-", label=f"tiled, block {b}: output + a few {b}x{b} tiles")
ax.axvline(4096, color="0.75", lw=0.8)
ax.annotate("T = 4096: about 128 MiB vs 2 MiB\n(bench/bench_flash_attention.py)", xy=(4096, 2.1),
            xytext=(300, 40), fontsize=8, arrowprops=dict(arrowstyle="->", color="0.5"))
ax.set_xlabel("sequence length T")
ax.set_ylabel("peak extra memory per head (MiB, float32)")
ax.set_title(r"naive attention grows as $T^2$, tiled attention as $T$", fontsize=10)
ax.legend(fontsize=8, loc="upper left")
ax.grid(alpha=0.3, which="both")
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
