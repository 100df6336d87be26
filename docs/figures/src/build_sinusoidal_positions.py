"""Draw build_sinusoidal_positions.svg: the sinusoidal position table and a few of its columns."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

P, d = 128, 64
pos = torch.arange(P, dtype=torch.float64)[:, None]
angles = pos * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (P, d/2)
table = torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(P, d)  # interleaved sin, cos

plt.rcParams["svg.hashsalt"] = "retreat"
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [1.2, 1]})
im = left.imshow(table.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1, origin="lower")
left.set_xlabel("position p")
left.set_ylabel("column (pairs 2i, 2i+1: sin, cos)")
left.set_title("sinusoidal position table P (transposed)", fontsize=10)
fig.colorbar(im, ax=left, shrink=0.8)
for col in [0, 8, 16, 32]:
    right.plot(table[:, col], label=f"column {col}: sin(p / 10000^({col}/{d}))")
right.set_xlabel("position p")
right.set_title("low columns turn fast, high columns slowly", fontsize=10)
right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
out = Path(__file__).resolve().parents[1] / "build_sinusoidal_positions.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
