"""Draw build_gpt2_parameters.svg: where GPT-2 small's 124,439,808 parameters live."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

V, T, C, L = 50257, 1024, 768, 12
parts = {  # name: parameter count (biases and LayerNorms included; the head is tied to wte)
    "token embedding\n(= output head)": V * C,
    "position embedding": T * C,
    "attention\n(qkv_proj + out_proj)": L * (4 * C * C + 4 * C),
    "MLP\n(fc + proj)": L * (8 * C * C + 5 * C),
    "LayerNorms\n(ln_1, ln_2, ln_f)": L * 4 * C + 2 * C,
}
total = sum(parts.values())
assert total == 124_439_808

plt.rcParams["svg.hashsalt"] = "retreat"
fig, ax = plt.subplots(figsize=(8, 3.6), constrained_layout=True)
names = list(parts)[::-1]
counts = [parts[n] / 1e6 for n in names]
bars = ax.barh(names, counts, color=["#999999", "#4c72b0", "#dd8452", "#55a868", "#8172b2"][::-1])
for bar, n in zip(bars, names, strict=True):
    ax.text(bar.get_width() + 0.8, bar.get_y() + bar.get_height() / 2,
            f"{parts[n]:,} ({parts[n] / total:.2%})", va="center", fontsize=8)
ax.set_xlabel("millions of parameters")
ax.set_xlim(0, 72)
ax.set_title(f"GPT-2 small: {total:,} parameters (V={V}, context {T}, C={C}, {L} blocks)", fontsize=10)
out = Path(__file__).resolve().parents[1] / "build_gpt2_parameters.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
