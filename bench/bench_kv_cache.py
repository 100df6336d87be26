"""Greedy generation of 256 new tokens on a tiny Llama, with and without the KV cache (the
kv-cache lesson: >= 5x), measured side by side in one run.

    .venv/bin/python bench/bench_kv_cache.py

Without the cache every step runs the whole sequence so far through the model; with it, every
step runs only the newest token and reads the past keys and values from the cache. Both runs
must produce the same tokens. Times are CPU time of this process (time.process_time), so that
other programs on the machine do not skew the ratio. Set RETREAT_TARGET=exercise to time your
own Llama and cache.
"""

import os
import time

import torch

# One thread: both sides then measure the same thing on a shared machine (many tiny ops on two
# busy cores spend more time handing work between threads than doing it).
torch.set_num_threads(int(__import__("os").environ.get("RETREAT_BENCH_THREADS", "1")))

os.environ.setdefault("RETREAT_TARGET", "solution")
import retreat  # noqa: E402

NEW_TOKENS, PROMPT = 256, 128


def main() -> None:
    torch.manual_seed(0)
    llama = retreat.load_exercise("llama")
    config = llama.LlamaConfig(vocab_size=512, hidden_size=384, intermediate_size=1024, num_hidden_layers=2,
                               num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=512)
    model = llama.Llama(config).eval()
    ids = torch.randint(0, config.vocab_size, (1, PROMPT))
    llama.generate(model, ids, 4)  # warm-up

    start = time.process_time()
    cached = llama.generate(model, ids, NEW_TOKENS, use_cache=True)
    t_cached = time.process_time() - start
    start = time.process_time()
    uncached = llama.generate(model, ids, NEW_TOKENS, use_cache=False)
    t_uncached = time.process_time() - start
    assert torch.equal(cached, uncached), "cached and uncached generation must give the same tokens"

    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny Llama: {n_params / 1e6:.1f}M parameters, {config.num_hidden_layers} layers, "
          f"{config.num_attention_heads} query / {config.num_key_value_heads} kv heads, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"{NEW_TOKENS} new tokens after a {PROMPT}-token prompt, greedy")
    print(f"without cache {t_uncached:7.2f} s  ({NEW_TOKENS / t_uncached:6.0f} tokens/s)")
    print(f"with cache    {t_cached:7.2f} s  ({NEW_TOKENS / t_cached:6.0f} tokens/s)")
    print(f"speed-up: {t_uncached / t_cached:.1f}x (the lesson says >= 5x)")


if __name__ == "__main__":
    main()
