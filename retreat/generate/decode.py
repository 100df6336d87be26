"""The token loop behind `retreat generate`, and the text it streams.

The course's `generate` functions are greedy and return a tensor at the end; a command that
streams and samples needs its own loop over the model's forward. `forward(ids, cache)` is the
kv-cache exercise's protocol: with a cache, `ids` are only the new tokens (the whole prompt on
the first call, then one token a step); without one (`cache=None`), the whole sequence every step.

Text is decoded from all the ids so far and only the new tail is printed: a token can end in the
middle of a UTF-8 character (byte-level BPE splits an emoji over several tokens), so a tail that
ends in U+FFFD (an unfinished character) waits for the next token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

Forward = Callable[["torch.Tensor", Any], "torch.Tensor"]
"""(ids (1, T) int64, cache or None) -> logits (1, T, vocab)."""


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0 picks the most likely token (greedy)
    top_k: int | None = None  # sample among the k most likely tokens only
    seed: int | None = None  # for reproducible samples

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


@dataclass
class Timing:
    """Seconds spent in the model and in picking tokens (not in printing them)."""

    seconds: float = 0.0
    tokens: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("inf")


def pick(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None) -> int:
    """The next token from one row of logits (vocab,)."""
    import torch

    if sampling.greedy:
        return int(logits.argmax())
    scaled = logits.float() / sampling.temperature
    if sampling.top_k is not None and sampling.top_k < scaled.numel():
        kth = torch.topk(scaled, sampling.top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def tokens(forward: Forward, prompt_ids: list[int], max_new_tokens: int, sampling: Sampling,
           eos_ids: frozenset[int] = frozenset(), cache: Any = None, timing: Timing | None = None) -> Iterator[int]:
    """Yield up to max_new_tokens new token ids, stopping after an end-of-sequence id (which is
    yielded, as HuggingFace's generate keeps it). With `cache`, the model reads each token once."""
    import torch

    timing = timing if timing is not None else Timing()
    generator = torch.Generator().manual_seed(sampling.seed) if sampling.seed is not None else None
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    with torch.no_grad():
        start = time.perf_counter()
        logits = forward(ids, cache)
        for step in range(max_new_tokens):
            token = pick(logits[0, -1], sampling, generator)
            timing.seconds += time.perf_counter() - start
            timing.tokens += 1
            yield token
            if token in eos_ids or step == max_new_tokens - 1:
                return  # the last token needs no logits
            start = time.perf_counter()
            new = torch.tensor([[token]], dtype=torch.long)
            ids = torch.cat([ids, new], dim=1)
            logits = forward(new, cache) if cache is not None else forward(ids, None)


def replay_without_cache(forward: Forward, prompt_ids: list[int], new_ids: list[int]) -> tuple[Timing, int | None]:
    """Feed the same tokens again with no cache, recomputing the whole prefix at every step.
    Returns the timing and the first step whose most likely token differs from new_ids (None if
    none does): after a greedy run, a difference means the cached and uncached paths disagree."""
    import torch

    timing, differs = Timing(), None
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    with torch.no_grad():
        for step, token in enumerate(new_ids):
            start = time.perf_counter()
            guess = int(forward(ids, None)[0, -1].argmax())
            timing.seconds += time.perf_counter() - start
            timing.tokens += 1
            if guess != token and differs is None:
                differs = step
            ids = torch.cat([ids, torch.tensor([[token]], dtype=torch.long)], dim=1)
    return timing, differs


class TextStream:
    """Turns new token ids into the text to print now, without breaking multi-byte characters."""

    def __init__(self, tokenizer: Tokenizer, prompt_ids: list[int]):
        self.tokenizer = tokenizer
        self.ids = list(prompt_ids)
        self.n_prompt = len(prompt_ids)
        # Decode the prompt with what follows, not alone: SentencePiece-style decoders drop the
        # space that starts a text, and the continuation's first space must survive.
        self.base = self._decode(self.ids)
        self.text = ""  # the continuation printed so far

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _continuation(self) -> str:
        full = self._decode(self.ids)
        if full.startswith(self.base):
            return full[len(self.base):]
        return self._decode(self.ids[self.n_prompt:])

    def push(self, token: int) -> str:
        """Add one token; return the text that is now complete and not yet printed."""
        self.ids.append(token)
        text = self._continuation()
        if text.endswith("\ufffd"):
            return ""  # an unfinished character: wait for its other bytes
        return self._advance(text)

    def finish(self) -> str:
        """Whatever is left (an unfinished character is printed as U+FFFD at the very end)."""
        return self._advance(self._continuation())

    def _advance(self, text: str) -> str:
        # A decoder that rewrote earlier text cannot unprint it: print what lies past the old end.
        out = text[len(self.text):]
        self.text = text
        return out
