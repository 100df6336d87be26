"""Draw detect_positional_decay.svg: ALiBi's bias for two heads, and RoPE's decay bound.

Uses the reference solution of the positional-decay exercise. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "detect"  # stable ids, so the file only changes when the figure does
pd = retreat.load_solution("positional-decay")

T = 16
causal = torch.ones(T, T, dtype=torch.bool).tril()
bias = pd.alibi_bias(8, T).masked_fill(~causal, float("nan"))  # (H, T, T), future keys blank
slopes = pd.alibi_slopes(8)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained",
                         gridspec_kw={"width_ratios": [1, 1, 1.5]})
for ax, h in zip(axes[:2], (0, 3), strict=True):
    im = ax.imshow(bias[h], cmap="viridis", vmin=float(bias[0].nan_to_num(0).min()), vmax=0)
    ax.set_title(f"ALiBi bias, head {h + 1} (slope 1/{int(1 / slopes[h])})", fontsize=9)
    ax.set_xlabel("key position j")
axes[0].set_ylabel("query position i")
fig.colorbar(im, ax=axes[:2], shrink=0.8, label="bias = -slope * (i - j)")

ax = axes[2]
for base, style in ((10000.0, "-"), (500000.0, "--")):
    bound = pd.rope_decay_bound(128, 1024, base=base)
    ax.plot(bound / bound[0], style, lw=1, label=f"d = 128, base = {base:g}")
ax.set_xlabel("relative distance r = m - n")
ax.set_ylabel("B(r) / B(0)")
ax.set_title("RoPE: upper bound on |q . k| vs distance", fontsize=9)
ax.set_xscale("symlog", linthresh=10)
ax.legend(fontsize=8)
fig.savefig(Path(__file__).resolve().parents[1] / "detect_positional_decay.svg",
            metadata={"Date": None})
