"""MoE dispatch by expert vs a per-token loop, at 4096 tokens (the moe lesson: >= 5x).

    .venv/bin/python bench/bench_moe.py

Both compute the same layer output from the same MoELayer (8 SwiGLU experts, top-2). The
per-token loop runs each token's two experts on that token alone: 8192 tiny matrix products.
Dispatch by expert gathers each expert's tokens and runs the expert once: 8 big products.
Set RETREAT_TARGET=exercise to time your own layer instead of the reference solution.
"""

import os
import time

import torch

# One thread: both sides then measure the same thing on a shared machine (many tiny ops on two
# busy cores spend more time handing work between threads than doing it).
torch.set_num_threads(int(__import__("os").environ.get("RETREAT_BENCH_THREADS", "1")))

os.environ.setdefault("RETREAT_TARGET", "solution")
import retreat  # noqa: E402

N_TOKENS, DIM, HIDDEN, N_EXPERTS, TOP_K = 4096, 128, 256, 8, 2


@torch.no_grad()
def per_token_loop(moe, x):
    probs = torch.softmax(moe.gate(x), dim=-1)
    weights, chosen = probs.topk(moe.top_k, dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    y = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for j in range(moe.top_k):
            y[t] += weights[t, j] * moe.experts[int(chosen[t, j])](x[t : t + 1])[0]
    return y


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    torch.manual_seed(0)
    moe = retreat.load_exercise("moe").MoELayer(DIM, HIDDEN, N_EXPERTS, TOP_K).eval()
    x = torch.randn(N_TOKENS, DIM)
    with torch.no_grad():
        t_dispatch, (y_dispatch, _) = best_of(lambda: moe(x), repeats=5)
    t_loop, y_loop = best_of(lambda: per_token_loop(moe, x), repeats=1)
    torch.testing.assert_close(y_dispatch, y_loop, atol=1e-5, rtol=1e-4)
    print(f"{N_TOKENS} tokens, {N_EXPERTS} experts, top-{TOP_K}, dim {DIM}, hidden {HIDDEN}, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"per-token loop     {t_loop * 1e3:9.1f} ms")
    print(f"dispatch by expert {t_dispatch * 1e3:9.1f} ms")
    print(f"speed-up: {t_loop / t_dispatch:.1f}x (the lesson says >= 5x)")


if __name__ == "__main__":
    main()
