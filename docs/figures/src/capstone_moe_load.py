"""Draw docs/figures/capstone_moe_load.svg: tokens per expert for three routers, with their losses.

8 experts, top-2 routing, 4096 random tokens. A fresh router spreads the load; a router that
drifted towards two experts, and one that collapsed onto one, overload a few experts. Each panel
gives the load-balancing loss E * sum f_e P_e (2 when perfectly balanced, up to E = 8).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "capstone_moe_load.svg"
N, DIM, E, K = 4096, 32, 8, 2


def balance_loss(logits: torch.Tensor) -> tuple[torch.Tensor, float]:
    probs = logits.softmax(-1)
    picks = torch.nn.functional.one_hot(probs.topk(K, -1).indices, E).sum(1).float()
    f, P = picks.mean(0), probs.mean(0)
    return f, float(E * (f * P).sum())


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "capstone"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, DIM, generator=g)
    w = torch.randn(E, DIM, generator=g) * 0.1
    fresh = x @ w.T
    drift = torch.tensor([1.5, 1.2, 0, 0, 0, 0, 0, 0])
    collapse = torch.tensor([6.0, 0, 0, 0, 0, 0, 0, 0])
    routers = [("fresh router", fresh), ("drifted towards 2 experts", fresh + drift),
               ("collapsed onto 1 expert", fresh + collapse)]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
    for ax, (name, logits) in zip(axes, routers, strict=True):
        f, loss = balance_loss(logits)
        ax.bar(range(E), f.numpy(), color="tab:blue")
        ax.axhline(K / E, color="tab:orange", ls="--", lw=1, label=f"balanced: k/E = {K / E:.2f}")
        ax.set_title(f"{name}\nload-balancing loss = {loss:.2f}")
        ax.set_xlabel("expert")
        ax.set_xticks(range(E))
    axes[0].set_ylabel("f: share of tokens sent to the expert")
    axes[0].legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
