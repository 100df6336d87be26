"""Draw detect_contrastive_decoding.svg: expert, amateur, and the contrastive scores.

A made-up next-token distribution after "The capital of Australia is": the expert is torn
between Canberra and Sydney, the amateur is sure of Sydney. Contrastive decoding (the
reference solution of the exercise) picks Canberra; without the plausibility head, the absurd
"xylophone" would win on its ratio. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "detect"  # stable ids, so the file only changes when the figure does
cd = retreat.load_solution("contrastive-decoding")

words = ["Sydney", "Canberra", "Melbourne", "a", "the", "Perth", "Brisbane", "xylophone"]
expert = torch.tensor([0.40, 0.35, 0.12, 0.05, 0.035, 0.02, 0.015, 0.01])
amateur = torch.tensor([0.55, 0.08, 0.10, 0.12, 0.10, 0.03, 0.0195, 0.0005])
alpha = 0.1
scores = cd.contrastive_scores(expert.log(), amateur.log(), alpha)
raw = expert.log() - amateur.log()
head = torch.isfinite(scores)

x = torch.arange(len(words)).float()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
ax1.bar(x - 0.2, expert, width=0.4, label="expert p", color="C0")
ax1.bar(x + 0.2, amateur, width=0.4, label="amateur p", color="C1")
ax1.axhline(alpha * float(expert.max()), color="grey", ls="--", lw=1,
            label=f"alpha * max expert p (alpha = {alpha})")
ax1.set_xticks(x, words, rotation=30)
ax1.set_title('next token after "The capital of Australia is"', fontsize=10)
ax1.legend(fontsize=8)

ax2.bar(x[head], raw[head], color="C2", edgecolor="black", label="plausible head: the score")
ax2.bar(x[~head], raw[~head], color="lightgrey", edgecolor="grey", hatch="//",
        label="outside the head: score is -inf\n(bar shows the ratio it would have had)")
ax2.axhline(0, color="black", lw=0.8)
ax2.legend(fontsize=8, loc="upper left")
ax2.set_xticks(x, words, rotation=30)
ax2.set_ylabel("log p_expert - log p_amateur")
best = words[int(scores.argmax())]
ax2.set_title(f"contrastive scores; the greedy pick is {best}", fontsize=10)
fig.savefig(Path(__file__).resolve().parents[1] / "detect_contrastive_decoding.svg",
            metadata={"Date": None})
