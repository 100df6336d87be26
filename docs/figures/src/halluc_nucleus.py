"""Draw halluc_nucleus.svg: what top-p and min-p keep from a confident and from a flat distribution.

Bars are the 30 most likely tokens' probabilities, sorted; a bar is coloured when the filter keeps
it. Uses the nucleus-sampling reference. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
ns = retreat.load_solution("nucleus-sampling")
g = torch.Generator().manual_seed(0)
V, shown = 1000, 30
base = torch.randn(V, generator=g).sort(descending=True).values
cases = {"confident: one clear continuation": base * 1.2 + torch.cat([torch.tensor([3.0]),
                                                                      torch.zeros(V - 1)]),
         "flat: many plausible continuations": base * 0.9}

fig, axes = plt.subplots(2, 2, figsize=(10, 5.2), constrained_layout=True)
for col, (title, logits) in enumerate(cases.items()):
    probs = logits.softmax(-1)
    for row, (name, out) in enumerate([("top-p, p = 0.9", ns.top_p_filter(logits, 0.9)),
                                       ("min-p, min_p = 0.1", ns.min_p_filter(logits, 0.1))]):
        kept = torch.isfinite(out)
        ax = axes[row, col]
        colours = ["tab:blue" if k else "lightgrey" for k in kept[:shown].tolist()]
        ax.bar(range(shown), probs[:shown], color=colours)
        ax.set_title(f"{title}\n{name}: keeps {int(kept.sum())} of {V} tokens "
                     f"(mass {probs[kept].sum():.2f})", fontsize=9)
        if name.startswith("min-p"):
            ax.axhline(0.1 * probs.max(), color="tab:red", lw=1, ls="--", label="0.1 x max p")
            ax.legend(fontsize=8)
        ax.set_xlabel("tokens, most likely first (first 30 shown)", fontsize=8)
    axes[0, col].set_ylabel("probability")
    axes[1, col].set_ylabel("probability")
out = Path(__file__).resolve().parents[1] / "halluc_nucleus.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
