"""Draw training_lr_schedule.svg: the pretraining run's learning rate, and what clipping does to a gradient.

Left: lr_at over the longer run's defaults (linear warm-up, cosine decay to min_lr). Right: one
gradient made of two tensors, clipped to norm 1 globally (the direction is kept) and per tensor
(the direction changes). Uses the reference solution's lr_at and clip_grad_norm
(solutions/1_build_an_llm/12_pretraining.py); run from the course root:
    python docs/figures/src/training_lr_schedule.py
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

os.environ.setdefault("RETREAT_TARGET", "solution")  # the solution's own imports resolve to solutions
import retreat  # noqa: E402

pre = retreat.load_solution("pretraining")
OUT = Path(__file__).resolve().parents[1] / "training_lr_schedule.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does

c = pre.PretrainConfig()
steps = list(range(c.steps + 1))
lrs = [pre.lr_at(s, c.max_lr, c.warmup_steps, c.steps, c.min_lr) for s in steps]

fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
ax.plot(steps, lrs, color="tab:blue", lw=1.8)
ax.axvline(c.warmup_steps, color="gray", ls="--", lw=1)
ax.text(c.warmup_steps + 15, c.max_lr * 0.5, f"end of warm-up\n(step {c.warmup_steps})", fontsize=8, color="gray")
ax.axhline(c.min_lr, color="tab:green", ls=":", lw=1.2)
ax.text(c.steps, c.min_lr + c.max_lr * 0.03, f"min_lr = {c.min_lr:g}", ha="right", fontsize=8, color="tab:green")
ax.axhline(c.max_lr, color="tab:orange", ls=":", lw=1.2)
ax.text(c.steps, c.max_lr * 1.02, f"max_lr = {c.max_lr:g}", ha="right", va="bottom", fontsize=8, color="tab:orange")
ax.set_ylim(0, c.max_lr * 1.12)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title(f"lr_at: linear warm-up, then cosine decay ({c.steps} steps)", fontsize=10)

# A gradient of two one-number tensors, (3, 0.6): its global norm is about 3.06.
g = torch.tensor([3.0, 0.6])
glob = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
for p, v in zip(glob, g, strict=True):
    p.grad = v.reshape(1).clone()
pre.clip_grad_norm(glob, 1.0)
global_clip = torch.cat([p.grad for p in glob])
per_tensor = torch.stack([v * min(1.0, 1.0 / abs(float(v))) for v in g])  # each tensor clipped alone
theta = torch.linspace(0, 2 * torch.pi, 200)
bx.plot(theta.cos(), theta.sin(), color="lightgray", lw=1)
bx.text(-0.72, 0.78, "norm 1", fontsize=8, color="gray")
for vec, color, label in [(g, "tab:gray", "raw gradient (3, 0.6)"),
                          (global_clip, "tab:blue", "global clipping: same direction"),
                          (per_tensor, "tab:red", "per-tensor clipping: turned")]:
    bx.annotate("", xy=(float(vec[0]), float(vec[1])), xytext=(0, 0),
                arrowprops=dict(arrowstyle="->", color=color, lw=2))
    bx.plot([], [], color=color, lw=2, label=label)
bx.set_xlim(-1.2, 3.3)
bx.set_ylim(-1.2, 1.6)
bx.set_aspect("equal")
bx.set_xlabel("tensor 1's gradient")
bx.set_ylabel("tensor 2's gradient")
bx.set_title("clip_grad_norm(max_norm = 1)", fontsize=10)
bx.legend(loc="lower right", fontsize=7.5)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
