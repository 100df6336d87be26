"""Draw halluc_scheduled_sampling.svg: scheduled sampling closes the exposure-bias gap of the reciter.

The reciter of support/hallucination_world.py trained three ways on the same 25-token answer:
teacher forcing; scheduled sampling with the reference scheduled_inputs (sampled guesses) and an
inverse-sigmoid schedule (k = 30); and the same with greedy (argmax) guesses. The plot is each
model's exact free-running error (exposure-bias reference) next to the teacher-forced error they
share. Run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
ss = retreat.load_solution("scheduled-sampling")
hw = retreat.load_support("hallucination_world")
V = 16
gold = hw.memorised_answer(length=24, vocab_size=V)


def schedule(step):
    return ss.inverse_sigmoid(step, k=30.0)


def greedy_inputs(logits, gold_inputs, epsilon, generator):
    return ss.scheduled_inputs(logits, gold_inputs, epsilon, generator, greedy=True)


runs = {"teacher forcing": hw.train_reciter(gold, V),
        "scheduled sampling, greedy guesses": hw.train_reciter(gold, V, inputs_fn=greedy_inputs,
                                                               schedule=schedule),
        "scheduled sampling, sampled guesses": hw.train_reciter(gold, V, inputs_fn=ss.scheduled_inputs,
                                                                schedule=schedule)}
fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
styles = {"teacher forcing": ("tab:red", "-"), "scheduled sampling, greedy guesses": ("tab:orange", "--"),
          "scheduled sampling, sampled guesses": ("tab:blue", "-")}
for name, W in runs.items():
    tf, fr = hw.reciter_errors(W, gold)
    t = torch.arange(1, len(fr) + 1)
    colour, ls = styles[name]
    ax.plot(t, fr, color=colour, ls=ls, label=f"{name}: free-running")
    print(f"{name:38s} teacher-forced {tf.max():.3f}, free-running "
          + " ".join(f"t={s}: {fr[s - 1]:.3f}" for s in [1, 5, 10, 20, 24])
          + f", mean gap {(fr - tf).mean():.3f}")
ax.plot(t, tf, color="tab:green", lw=1, label="teacher-forced error (all three)")
ax.set_xlabel("generated token t")
ax.set_ylabel("P(token t differs from the gold token)")
ax.set_ylim(0, 0.7)
ax.set_title("all three are 91% right on gold prefixes; only the model trained on its own\n"
             "sampled slips learned to recover from them", fontsize=10)
ax.legend(fontsize=8, loc="upper left")
out = Path(__file__).resolve().parents[1] / "halluc_scheduled_sampling.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
