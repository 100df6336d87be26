"""Draw build_causal_attention.svg: attention weights of one head without and with the causal mask."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

torch.manual_seed(0)
T, hs = 8, 16
tokens = ["The", "cat", "sat", "on", "the", "warm", "mat", "."]
q, k = torch.randn(T, hs), torch.randn(T, hs)
scores = q @ k.T / hs**0.5
full = torch.softmax(scores, dim=-1)
allowed = torch.ones(T, T, dtype=torch.bool).tril()
causal = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)

plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids, so the SVG only changes when the picture does
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), constrained_layout=True)
titles = ["no mask: every token sees every token",
          "causal: scores above the diagonal are -inf,\nso token i sees only tokens 0..i"]
for ax, w, title in zip(axes, [full, causal], titles, strict=True):
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    shown = w.masked_fill(~allowed, float("nan")) if w is causal else w
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_xticks(range(T), tokens, rotation=45)
    ax.set_yticks(range(T), tokens)
    ax.set_xlabel("key j (attended to)")
    ax.set_ylabel("query i (attending)")
    if w is causal:
        for i, j in zip(*torch.triu_indices(T, T, offset=1).tolist(), strict=True):
            ax.text(j, i, "0", ha="center", va="center", fontsize=7, color="dimgrey")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight (each row sums to 1)")
out = Path(__file__).resolve().parents[1] / "build_causal_attention.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
