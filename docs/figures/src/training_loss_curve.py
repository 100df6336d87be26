"""Draw training_loss_curve.svg: a bigram model learning a random Markov chain.

The loss starts at ln V (uniform guessing) and falls towards the chain's entropy rate, the best
loss any model can reach on this data. Run from the repository root:
    python docs/figures/src/training_loss_curve.py
"""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "training_loss_curve.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does
V, B, T, STEPS, EVAL_EVERY = 16, 32, 32, 400, 20

g = torch.Generator().manual_seed(0)
transition = torch.softmax(2.0 * torch.randn(V, V, generator=g), dim=-1)  # P(next | current)
stationary = torch.linalg.matrix_power(transition, 200)[0]
entropy_rate = float(-(stationary[:, None] * transition * transition.log()).sum())


def sample_batch():
    ids = torch.empty(B, T + 1, dtype=torch.long)
    ids[:, 0] = torch.multinomial(stationary, B, replacement=True, generator=g)
    for t in range(T):
        ids[:, t + 1] = torch.multinomial(transition[ids[:, t]], 1, generator=g)[:, 0]
    return ids[:, :-1], ids[:, 1:]


table = torch.nn.Embedding(V, V)
torch.nn.init.normal_(table.weight, std=0.01)
opt = torch.optim.AdamW(table.parameters(), lr=0.05)
val = [sample_batch() for _ in range(4)]
train_losses, val_steps, val_losses = [], [], []
for step in range(STEPS):
    x, y = sample_batch()
    loss = F.cross_entropy(table(x).flatten(0, 1), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    train_losses.append(loss.item())
    if step % EVAL_EVERY == 0 or step == STEPS - 1:
        with torch.no_grad():
            val_steps.append(step)
            val_losses.append(sum(F.cross_entropy(table(x).flatten(0, 1), y.flatten()).item() for x, y in val) / 4)

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(train_losses, color="tab:blue", alpha=0.5, lw=1, label="training loss (one batch per step)")
ax.plot(val_steps, val_losses, "o-", color="tab:orange", ms=3, label="validation loss (evaluate)")
ax.axhline(math.log(V), color="gray", ls="--", lw=1)
ax.text(STEPS * 0.99, math.log(V) - 0.1, f"ln V = {math.log(V):.2f}: uniform guess", ha="right", fontsize=8)
ax.axhline(entropy_rate, color="tab:green", ls=":", lw=1.5)
ax.text(STEPS * 0.99, entropy_rate - 0.13, f"entropy rate of the data = {entropy_rate:.2f}: the floor",
        ha="right", fontsize=8, color="tab:green")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats per token)")
ax.set_title(f"A bigram model learning a random Markov chain (V = {V})")
ax.legend(loc="center right", fontsize=8)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
