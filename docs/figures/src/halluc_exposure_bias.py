"""Draw halluc_exposure_bias.svg: teacher-forced error stays flat, free-running error compounds.

The model of support/hallucination_world.py's cycle_chain (16 states, 5% error per step), the
exact errors of the exposure-bias reference, Monte Carlo estimates with 3-sigma bars, and the
bound 1 - (1 - 0.05)^(t+1). Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
eb = retreat.load_solution("exposure-bias")
hw = retreat.load_support("hallucination_world")
successor, Q = hw.cycle_chain(n_states=16, error=0.05)
T = 60
gold = hw.gold_sequence(successor, 0, T)
tf = eb.teacher_forced_error(Q, gold)
fr = eb.free_running_error(Q, gold)
mc, se = eb.monte_carlo_error(Q, gold, 2000, generator=torch.Generator().manual_seed(0))
t = torch.arange(1, T + 1)
bound = 1 - torch.cumprod(1 - tf, dim=0)

fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.plot(t, tf, color="tab:green", label="teacher-forced (gold prefix)")
ax.plot(t, fr, color="tab:red", label="free-running, exact (q @ Q^t)")
ax.errorbar(t[::4], mc[::4], yerr=3 * se[::4], fmt="o", ms=3, color="black", capsize=2,
            label="free-running, Monte Carlo (2000 rollouts, 3 sigma)")
ax.plot(t, bound, color="grey", ls="--", label="P(some mistake so far) = 1 - 0.95^t")
ax.axhline(1 - 1 / 16, color="grey", ls=":", lw=1)
ax.text(T, 1 - 1 / 16 + 0.01, "1 - 1/V: lost", ha="right", va="bottom", fontsize=8, color="grey")
ax.set_xlabel("generated token t")
ax.set_ylabel("P(token t differs from the gold token)")
ax.set_title("the same model, 5% error per step: exposure bias compounds it", fontsize=10)
ax.set_ylim(0, 1.02)
ax.legend(fontsize=8, loc="center right")
for step in [1, 10, 20, 40, 60]:
    print(f"t={step:2d}  teacher-forced {tf[step - 1]:.3f}  free-running {fr[step - 1]:.3f}")
out = Path(__file__).resolve().parents[1] / "halluc_exposure_bias.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
