"""Draw halluc_schedules.svg: the three scheduled-sampling decays of epsilon over training.

Uses the scheduled-sampling reference. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
ss = retreat.load_solution("scheduled-sampling")
steps = list(range(0, 10_001, 50))
curves = {
    "linear(i, k=1, c=1e-4, eps_min=0.1)": [ss.linear(i, k=1.0, c=1e-4, eps_min=0.1) for i in steps],
    "exponential(i, k=0.9997)": [ss.exponential(i, k=0.9997) for i in steps],
    "inverse_sigmoid(i, k=700)": [ss.inverse_sigmoid(i, k=700.0) for i in steps],
}
fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
for name, values in curves.items():
    ax.plot(steps, values, label=name)
ax.set_xlabel("training step i")
ax.set_ylabel("epsilon = P(input is the gold token)")
ax.set_ylim(0, 1.02)
ax.text(200, 0.97, "teacher forcing", fontsize=8, va="top", color="grey")
ax.text(9800, 0.03, "mostly the model's own tokens", fontsize=8, ha="right", color="grey")
ax.set_title("scheduled sampling: from teacher forcing towards free-running inputs", fontsize=10)
ax.legend(fontsize=8)
out = Path(__file__).resolve().parents[1] / "halluc_schedules.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
