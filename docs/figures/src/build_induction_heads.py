"""Draw build_induction_heads.svg: the three heads of the trained copy model on one repeated sequence."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

induction = retreat.load_support("induction")
model = induction.trained_model()
ids, first = induction.repeated_sequences(64, torch.Generator().manual_seed(1))
row = int((first == first.min()).nonzero()[0])  # the sequence with the longest repeated segment
ids = ids[row:row + 1]

inputs = []
handles = [layer.register_forward_pre_hook(lambda _m, args: inputs.append(args[0])) for layer in model.layers]
with torch.no_grad():
    model(ids)
    for h in handles:
        h.remove()
    maps = []
    for layer, x in zip(model.layers, inputs, strict=True):
        B, T, C = x.shape
        q, k, _ = layer.qkv_proj(x).split(C, dim=-1)
        q, k = (t.view(B, T, layer.n_heads, layer.head_dim).transpose(1, 2) for t in (q, k))
        s = (q @ k.transpose(-2, -1)) / layer.head_dim**0.5
        maps.append(s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)[0])

T = ids.shape[1]
prev0 = torch.diagonal(maps[0], offset=-1, dim1=-2, dim2=-1).mean(-1)  # (2,)
panels = [(0, int(prev0.argmax()), "layer 0: previous-token head\n(each token looks one step back)"),
          (0, int(prev0.argmin()), "layer 0: the other head\n(ablating it changes little)"),
          (1, 0, "layer 1: induction head\n(looks at the token after the earlier copy)")]
labels = [str(t) for t in ids[0].tolist()]
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids, so the SVG only changes when the picture does
fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), constrained_layout=True)
cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
future = torch.ones(T, T, dtype=torch.bool).triu(1)
for ax, (layer, head, title) in zip(axes, panels, strict=True):
    im = ax.imshow(maps[layer][head].masked_fill(future, float("nan")), cmap=cmap, vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_xticks(range(T), labels, fontsize=6, rotation=90)
    ax.set_yticks(range(T), labels, fontsize=6)
    ax.set_xlabel("key (token id)")
    ax.set_ylabel("query (token id)")
    start = int(first[row])  # second copy starts here; the first copy R positions earlier
    for a in (ax.axhline, ax.axvline):
        a(start - 0.5, color="white", lw=0.6, ls="--")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
out = Path(__file__).resolve().parents[1] / "build_induction_heads.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
