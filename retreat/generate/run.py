"""One `retreat generate` run: MODEL to a loaded model, a prompt to streamed text and timings.

The command line only parses options and prints; everything it shows comes from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from retreat.errors import UsageProblem
from retreat.generate import hub
from retreat.generate.checkpoint import BadCheckpoint, Checkpoint, load_tokenizer, open_checkpoint
from retreat.generate.decode import Sampling, TextStream, Timing, replay_without_cache, tokens
from retreat.generate.models import Runner, build


@dataclass
class Loaded:
    ckpt: Checkpoint
    runner: Runner
    tokenizer: object  # a tokenizers.Tokenizer


@dataclass
class Result:
    prompt_ids: list[int]
    new_ids: list[int]
    text: str  # the continuation, decoded
    timing: Timing  # the run that streamed: with the KV cache when the model has one
    cached: bool
    stopped_at_eos: bool
    no_cache: Timing | None = None  # the same tokens again without the cache (on request)
    differs_at: int | None = None  # first step where the uncached model's choice differs (greedy runs)

    def as_json(self) -> dict:
        return {"prompt_ids": self.prompt_ids, "new_ids": self.new_ids, "text": self.text}


def load(model: str, course, reference: bool = False) -> Loaded:  # noqa: ANN001 - a retreat.course.Course
    """Find MODEL's folder, check it, and build the course model that runs it."""
    folder = hub.resolve(model, course.state_dir)
    ckpt = open_checkpoint(folder)
    tokenizer = load_tokenizer(ckpt)  # before the (slow) model: a bad tokenizer fails fast
    return Loaded(ckpt, build(ckpt, course, reference), tokenizer)


def encode(loaded: Loaded, prompt: str, max_new_tokens: int) -> list[int]:
    """The prompt's token ids, checked against the model's vocabulary and context."""
    ids = loaded.tokenizer.encode(prompt).ids
    ckpt = loaded.ckpt
    if not ids:
        raise UsageProblem("the prompt encodes to no tokens: give some text with --prompt")
    vocab = ckpt.fields["vocab_size"]
    if max(ids) >= vocab:
        raise BadCheckpoint(f"{ckpt.tokenizer_file} gives token id {max(ids)} but the model has {vocab} "
                            "embeddings: the tokenizer does not belong to these weights")
    if len(ids) + max_new_tokens > ckpt.max_positions:
        raise UsageProblem(f"the prompt is {len(ids)} tokens and --max-new-tokens {max_new_tokens} more, beyond "
                           f"the {ckpt.max_positions} positions this model was built for: shorten the prompt "
                           "or ask for fewer tokens")
    return ids


def generate(loaded: Loaded, prompt: str, max_new_tokens: int, sampling: Sampling,
             compare_no_cache: bool = False, on_text: Callable[[str], None] | None = None) -> Result:
    """Generate, calling on_text with each piece of text as soon as it is complete."""
    prompt_ids = encode(loaded, prompt, max_new_tokens)
    runner = loaded.runner
    stream, timing, new_ids = TextStream(loaded.tokenizer, prompt_ids), Timing(), []
    with runner.source.guard():
        cache = runner.new_cache() if runner.new_cache is not None else None
        for token in tokens(runner.forward, prompt_ids, max_new_tokens, sampling, loaded.ckpt.eos_ids, cache, timing):
            new_ids.append(token)
            piece = stream.push(token)
            if piece and on_text:
                on_text(piece)
        piece = stream.finish()
        if piece and on_text:
            on_text(piece)
        result = Result(prompt_ids, new_ids, stream.text, timing, cached=cache is not None,
                        stopped_at_eos=bool(new_ids) and new_ids[-1] in loaded.ckpt.eos_ids)
        if compare_no_cache and result.cached:
            result.no_cache, differs = replay_without_cache(runner.forward, prompt_ids, new_ids)
            result.differs_at = differs if sampling.greedy else None
    return result


def describe(loaded: Loaded) -> str:
    """One line: whose code, which folder, how big."""
    n = loaded.runner.n_params
    size = f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n / 1e3:.1f}K"
    ckpt = loaded.ckpt
    return f"{loaded.runner.source.who} on {hub.shown(ckpt.folder)} ({ckpt.model_type}, {size} parameters)"

