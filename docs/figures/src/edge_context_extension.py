"""Draw docs/figures/edge_context_extension.svg: how linear and NTK-aware scaling change RoPE's
frequencies, pair by pair."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_context_extension.svg"
plt.rcParams["svg.hashsalt"] = "retreat"

D, base, s = 128, 10000.0, 4.0
i = np.arange(D // 2)
default = base ** (-2 * i / D)
linear = default / s
ntk = (base * s ** (D / (D - 2))) ** (-2 * i / D)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.semilogy(i, default, label="default", color="0.3")
ax1.semilogy(i, linear, label=f"linear, s={s:g}", ls="--")
ax1.semilogy(i, ntk, label=f"dynamic (NTK), s={s:g}")
ax1.set_xlabel("pair i")
ax1.set_ylabel(r"frequency $\theta_i$ (radians per position)")
ax1.set_title("frequencies (D = 128)", fontsize=10)
ax1.legend(fontsize=8)
ax1.grid(alpha=0.3)

ax2.plot(i, linear / default, label="linear: every pair slowed by s", ls="--")
ax2.plot(i, ntk / default, label=r"NTK: pair i slowed by $s^{2i/(D-2)}$")
ax2.axhline(1 / s, color="0.7", lw=0.8)
ax2.set_ylim(0, 1.05)
ax2.set_xlabel("pair i")
ax2.set_ylabel(r"$\theta_i' / \theta_i$")
ax2.set_title("fast pairs keep their resolution under NTK scaling", fontsize=10)
ax2.legend(fontsize=8)
ax2.grid(alpha=0.3)

fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
