"""Peak extra memory of tiled attention (flash-attention) against naive attention, at T = 4096.

    .venv/bin/python bench/bench_flash_attention.py              # the reference solution
    .venv/bin/python bench/bench_flash_attention.py --exercise   # your exercises/ file

Memory is accounted like tracemalloc, but for tensors: every tensor a PyTorch function returns
during the call is counted from its creation until the last Python reference to its storage
dies, and the peak of the live total is reported. The inputs are not counted. (Scratch buffers
inside a single kernel are invisible to this accounting; they are small for both methods.)
The lesson: at T = 4096 the tiled version needs at most 1/8 of the naive version's memory.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import weakref
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.chdir(Path(__file__).resolve().parents[1])

import retreat  # noqa: E402


class PeakTensorMemory(TorchFunctionMode):
    """Live bytes of the storages of tensors created inside the `with` block, and their peak."""

    def __init__(self, exclude: tuple[torch.Tensor, ...] = ()):
        super().__init__()
        self.skip = {t.untyped_storage().data_ptr() for t in exclude}
        self.live: dict[int, list[int]] = {}  # storage pointer -> [bytes, python references]
        self.current = self.peak = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in self.skip or storage.nbytes() == 0:
            return
        entry = self.live.get(ptr)
        if entry is None:
            self.live[ptr] = [storage.nbytes(), 1]
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
        else:
            entry[1] += 1
        weakref.finalize(t, self._release, ptr)

    def _release(self, ptr: int) -> None:
        entry = self.live[ptr]
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[ptr]


def naive_attention(q, k, v, causal):
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def measure(fn, q, k, v, **kwargs):
    probe = PeakTensorMemory(exclude=(q, k, v))
    start = time.perf_counter()
    with probe:
        out = fn(q, k, v, **kwargs)
        out = out[0] if isinstance(out, tuple) else out
    seconds = time.perf_counter() - start
    return out, probe.peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", action="store_true", help="benchmark your exercises/ file")
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--block-size", type=int, default=64)
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    mod = retreat.load_exercise("flash-attention") if args.exercise else retreat.load_solution("flash-attention")
    T, hs, bs = args.seq_len, args.head_dim, args.block_size
    q, k, v = torch.randn(3, 1, 1, T, hs).unbind(0)
    mib = 1024**2
    print(f"attention over T = {T} tokens, one head of {hs}, float32, block_size = {bs}")
    print(f"{'':8} {'naive peak':>12} {'tiled peak':>12} {'tiled / naive':>14} {'max |diff|':>11}")
    ok = True
    for causal in (False, True):
        ref, naive_peak, naive_s = measure(naive_attention, q, k, v, causal=causal)
        out, tiled_peak, tiled_s = measure(mod.flash_attention, q, k, v, causal=causal, block_size=bs)
        ratio = tiled_peak / naive_peak
        diff = (out - ref).abs().max().item()
        ok &= ratio <= 1 / 8 and diff < 1e-4
        label = "causal" if causal else "full"
        print(f"{label:8} {naive_peak / mib:9.1f} MiB {tiled_peak / mib:9.2f} MiB {ratio:14.4f} {diff:11.2e}"
              f"   ({naive_s:.2f} s vs {tiled_s:.2f} s)")
    print(f"lesson: tiled peak <= 1/8 of naive peak, same output: {'yes' if ok else 'NO'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
