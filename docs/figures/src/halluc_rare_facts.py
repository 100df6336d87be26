"""Draw halluc_rare_facts.svg: the world's tiny model knows frequent facts and guesses rare ones.

Accuracy and mean entropy of the model's birth-city answer, grouped by how often the fact
appeared in training (support/hallucination_world.py, default world). Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
hw = retreat.load_support("hallucination_world")
unc = retreat.load_solution("uncertainty")
world, model = hw.pretrained()
logits = hw.answer_logits(model, world)
answers = world.city_tokens[world.city]
correct = (logits.argmax(-1) == answers).float()
entropy = unc.token_entropy(logits)

groups = [("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6+", 6, 10**9)]
labels, acc, ent, n = [], [], [], []
for name, lo, hi in groups:
    m = (world.count >= lo) & (world.count <= hi)
    labels.append(f"seen {name}x\n({int(m.sum())} facts)")
    acc.append(correct[m].mean().item())
    ent.append(entropy[m].mean().item())

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
x = torch.arange(len(groups)).tolist()
axes[0].bar(x, acc, color="tab:blue")
axes[0].set_ylim(0, 1.05)
axes[0].set_ylabel("accuracy of the greedy answer")
axes[0].set_title("facts seen once are often made up", fontsize=10)
axes[1].bar(x, ent, color="tab:orange")
axes[1].axhline(torch.log(torch.tensor(float(len(world.cities)))).item(), color="grey", ls="--",
                lw=1, label="log 20: uniform over the cities")
axes[1].set_ylabel("mean entropy of the answer (nats)")
axes[1].set_title("... and the model is less sure about them", fontsize=10)
axes[1].legend(fontsize=8, loc="upper right")
for ax, vals in zip(axes, [acc, ent], strict=True):
    ax.set_xticks(x, labels, fontsize=8)
    for xi, v in zip(x, vals, strict=True):
        ax.text(xi, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
out = Path(__file__).resolve().parents[1] / "halluc_rare_facts.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
