"""Draw halluc_exposure_bias.svg: a model trained with teacher forcing is lost after its first slip.

The reciter of support/hallucination_world.py (a table of p(next token | position, last token),
trained with teacher forcing and label smoothing 0.1 to recite a 25-token answer): the exact
errors of the exposure-bias reference on its Markov chain, Monte Carlo estimates with 3-sigma
bars, and the bound 1 - prod(1 - teacher-forced error). Run from the course root.
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
V = 16
gold = hw.memorised_answer(length=24, vocab_size=V)
W = hw.train_reciter(gold, V)  # teacher forcing
Q, states = hw.reciter_chain(W), hw.reciter_states(gold, V)
tf = eb.teacher_forced_error(Q, states)
fr = eb.free_running_error(Q, states)
mc, se = eb.monte_carlo_error(Q, states, 4000, generator=torch.Generator().manual_seed(0))
T = len(tf)
t = torch.arange(1, T + 1)
bound = 1 - torch.cumprod(1 - tf, dim=0)

fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.plot(t, tf, color="tab:green", label="teacher-forced (gold prefix)")
ax.plot(t, fr, color="tab:red", label="free-running, exact (q @ Q^t)")
ax.errorbar(t[::2], mc[::2], yerr=3 * se[::2], fmt="o", ms=3, color="black", capsize=2,
            label="free-running, Monte Carlo (4000 rollouts, 3 sigma)")
ax.plot(t, bound, color="grey", ls="--", label="P(some slip so far) = 1 - prod(1 - teacher-forced)")
ax.set_xlabel("generated token t")
ax.set_ylabel("P(token t differs from the gold token)")
ax.set_title("trained only on gold prefixes: 91% right there, lost after a slip\n"
             "(off the gold path its rows are untrained, so it comes back 1 time in 16)",
             fontsize=10)
ax.set_ylim(0, 1.02)
ax.legend(fontsize=8, loc="upper left")
for step in [1, 2, 5, 10, 20, 24]:
    print(f"t={step:2d}  teacher-forced {tf[step - 1]:.3f}  free-running {fr[step - 1]:.3f}  "
          f"Monte Carlo {mc[step - 1]:.3f}  bound {bound[step - 1]:.3f}")
out = Path(__file__).resolve().parents[1] / "halluc_exposure_bias.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
