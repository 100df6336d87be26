"""Draw halluc_likelihood_trap.svg: on the loop chain, likelihood and diversity pull apart.

For greedy decoding and for nucleus sampling at several top_p, the mean log-probability per token
(under the model) against distinct-4 of 200-token sequences, averaged over 10 seeds. Uses the
likelihood-trap reference and support/hallucination_world.py. Run from the course root.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

os.environ.setdefault("RETREAT_TARGET", "solution")  # the reference uses the nucleus reference
plt.rcParams["svg.hashsalt"] = "halluc"  # stable ids, so the file only changes when the figure does
lt = retreat.load_solution("likelihood-trap")
hw = retreat.load_support("hallucination_world")
P = hw.loop_chain()

points = []
greedy = lt.generate_markov(P, 10, 200, greedy=True)
points.append(("greedy", lt.mean_logprob(P, greedy), lt.distinct_n(greedy, 4)))
for top_p in [0.5, 0.7, 0.8, 0.9, 0.95, 1.0]:
    lp, d4 = [], []
    for seed in range(10):
        s = lt.generate_markov(P, 10, 200, top_p=top_p, generator=torch.Generator().manual_seed(seed))
        lp.append(lt.mean_logprob(P, s))
        d4.append(lt.distinct_n(s, 4))
    points.append((f"top-p {top_p}", sum(lp) / len(lp), sum(d4) / len(d4)))

fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
for name, lp, d4 in points:
    colour = "tab:red" if name == "greedy" else "tab:blue"
    ax.scatter(lp, d4, color=colour, s=40)
    offset = (-10, -14) if name == "greedy" else (6, 4)
    ax.annotate(name, (lp, d4), textcoords="offset points", xytext=offset, fontsize=8)
    print(f"{name:12s} mean log-prob {lp:6.2f}  distinct-4 {d4:.2f}")
ax.set_xlabel("mean log-probability per token under the model (higher = more likely)")
ax.set_ylabel("distinct-4 (higher = less repetitive)")
ax.set_title("the most likely text is the most repetitive: greedy loops 0 1 2 3 0 1 2 3 ...",
             fontsize=9)
ax.set_ylim(-0.05, 1.05)
out = Path(__file__).resolve().parents[1] / "halluc_likelihood_trap.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
