"""`retreat generate`: run a checkpoint on the course's model code, streaming the text."""

from __future__ import annotations

import click

from retreat.cli.common import echo_json, json_option


@click.command("generate")
@click.argument("model", metavar="MODEL")
@click.option("--prompt", required=True, help="The text to continue.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many tokens to add (fewer if the model writes its end-of-text token).")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Sampling temperature; 0 always takes the most likely token (greedy).")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Sample among the K most likely tokens only (with a temperature above 0).")
@click.option("--seed", type=int, default=None, help="Seed the sampler, for repeatable samples.")
@click.option("--reference", is_flag=True, help="Run the reference solutions instead of your exercises.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for PyTorch (default: its own choice; 1 is faster on a busy machine).")
@click.option("--compare-no-cache", is_flag=True,
              help="Also time the same tokens without the KV cache (and check both pick the same tokens).")
@json_option
def generate_cmd(model: str, prompt: str, max_new_tokens: int, temperature: float, top_k: int | None,
                 seed: int | None, reference: bool, threads: int | None, compare_no_cache: bool,
                 as_json: bool) -> None:
    """Run a model on your own code: your Llama (llama) or your GPT (gpt-model) writes text.

    \b
    MODEL is one of:
      a folder in HuggingFace format: config.json, *.safetensors, tokenizer.json
      a name: the checkpoint in .retreat/checkpoints/NAME ($RETREAT_HOME/checkpoints/
        if set), where your trained GPT is saved
      a hub id such as HuggingFaceTB/SmolLM-135M (downloaded when online)
    config.json's model_type picks the code: llama runs your llama exercise, gpt2 your
    gpt-model. The text streams token by token, then the speed in tokens per second.
    """
    from retreat.course import Course
    from retreat.generate import run
    from retreat.generate.decode import Sampling

    if threads:
        import torch

        torch.set_num_threads(threads)
    loaded = run.load(model, Course.find(), reference=reference)
    sampling = Sampling(temperature=temperature, top_k=top_k, seed=seed)
    if as_json:
        echo_json(run.generate(loaded, prompt, max_new_tokens, sampling, compare_no_cache).as_json())
        return
    started = False

    def show(piece: str) -> None:
        nonlocal started
        if not started:  # once the model has run: an error before that stays a single line
            click.secho(run.describe(loaded), dim=True, err=True)
            click.echo(prompt, nl=False)
            started = True
        click.echo(piece, nl=False)

    result = run.generate(loaded, prompt, max_new_tokens, sampling, compare_no_cache, on_text=show)
    if not started:
        show("")
    click.echo()
    for line in _summary(result, compare_no_cache):
        click.secho(line, dim=True, err=True)


def _summary(result, compare_no_cache: bool) -> list[str]:  # noqa: ANN001 - a run.Result
    t = result.timing
    how = ("with the KV cache" if result.cached
           else "(no KV cache in the course's GPT: each step reads the whole prefix)")
    lines = [f"{t.tokens} tokens in {t.seconds:.2f} s: {t.tokens_per_second:.1f} tokens/s {how}"
             + (" · stopped at the end-of-text token" if result.stopped_at_eos else "")]
    if result.no_cache is not None:
        u = result.no_cache
        lines.append(f"without the cache: {u.seconds:.2f} s, {u.tokens_per_second:.1f} tokens/s "
                     f"({u.seconds / max(t.seconds, 1e-9):.1f}x the time)")
        if result.differs_at is not None:
            lines.append(f"without the cache the model picks another token at step {result.differs_at + 1}: "
                         "cached and uncached runs should agree (retreat check kv-cache)")
    elif compare_no_cache:
        lines.append("--compare-no-cache: the course's GPT has no KV cache, so every step already recomputes")
    return lines
