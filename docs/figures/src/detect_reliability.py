"""Draw detect_reliability.svg: reliability diagrams of three models.

Left and middle, synthetic predictions with confidences skewed towards 1: an overconfident
model (right less often than it says) and a calibrated one (right exactly as often). Right,
the small transformer of support/hallucination_world.py answering every person's birth city,
with its top probability as the confidence. ECE, Brier and AUROC come from the calibration
exercise's reference solution; the numbers are printed too. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "detect"  # stable ids, so the file only changes when the figure does
cal = retreat.load_solution("calibration")
torch.manual_seed(0)  # Beta.sample draws from the global generator
g = torch.Generator().manual_seed(0)
n, n_bins = 20_000, 10
conf = 0.5 + 0.5 * torch.distributions.Beta(4.0, 1.5).sample((n,))  # (N,) in [0.5, 1], mostly high
cases = {}
for name, p_right in {"overconfident (synthetic)": 0.5 + 0.6 * (conf - 0.5) ** 1.3,
                      "calibrated (synthetic)": conf}.items():
    cases[name] = (conf, torch.rand(n, generator=g) < p_right)

hw = retreat.load_support("hallucination_world")
world, model = hw.pretrained()
probs = hw.answer_logits(model, world).double().softmax(-1)  # (n_people, V)
top_p, top_token = probs.max(-1)
cases["transformer of the synthetic world"] = (top_p, top_token == world.city_tokens[world.city])

fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True, layout="constrained")
edges = torch.linspace(0, 1, n_bins + 1)
for ax, (name, (conf, correct)) in zip(axes, cases.items(), strict=True):
    bins = (torch.ceil(conf * n_bins).long() - 1).clamp(min=0)
    acc = torch.tensor([correct[bins == b].float().mean() if (bins == b).any() else float("nan")
                        for b in range(n_bins)])
    mean_conf = torch.tensor([conf[bins == b].mean() if (bins == b).any() else float("nan")
                              for b in range(n_bins)])
    centres = (edges[:-1] + edges[1:]) / 2
    ax.bar(centres, acc, width=1 / n_bins, edgecolor="black", color="C0", label="accuracy in bin")
    ax.bar(centres, mean_conf - acc, bottom=acc, width=1 / n_bins, color="C3", alpha=0.35,
           edgecolor="C3", hatch="//", label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ece = float(cal.expected_calibration_error(conf, correct, n_bins))
    brier = float(cal.brier_score(conf, correct))
    auc = float(cal.auroc(conf, correct))
    print(f"{name}: accuracy {correct.float().mean():.3f}, mean confidence {conf.mean():.3f}, "
          f"ECE {ece:.3f}, Brier {brier:.3f}, AUROC {auc:.3f}")
    ax.set_title(f"{name}\nECE = {ece:.3f}, Brier = {brier:.3f}, AUROC = {auc:.2f}", fontsize=10)
    ax.set_xlabel("confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
axes[0].set_ylabel("accuracy")
axes[0].legend(loc="upper left", fontsize=8)
fig.savefig(Path(__file__).resolve().parents[1] / "detect_reliability.svg", metadata={"Date": None})
