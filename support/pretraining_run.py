"""The longer run of the pretraining exercise: train on the whole book, watch it learn, keep the model.

The exercise file ends with `retreat.load_support("pretraining_run").main(__file__)`, so

    python exercises/1_build_an_llm/12_pretraining.py [--steps N] [--reference] [--out DIR]

runs the learner's `pretrain` (or, with --reference or from the solution file, the reference
solution all the way down) on support/data/pride_and_prejudice.txt, with a one-line progress bar
(step, loss, validation loss, learning rate, speed, time left) and a sample every few hundred
steps, then saves the model and tokenizer in HuggingFace GPT-2 format (support/gpt2_checkpoint.py)
under the state folder: <state>/checkpoints/pretraining/, where <state> is $RETREAT_HOME or
.retreat/ in the course root.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

import retreat

CORPUS = Path(__file__).resolve().parent / "data" / "pride_and_prejudice.txt"
EXERCISE = "pretraining"


class ProgressBar:
    """One line, rewritten in place with '\\r'; other messages are printed above it."""

    def __init__(self, total: int, stream=None, width: int = 24) -> None:  # noqa: ANN001 - a text stream
        self.total, self.width = total, width
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()  # a pipe or a log file gets a plain line every tenth of the run
        self.started = time.monotonic()
        self.step, self.loss, self.val, self.lr = 0, None, None, None
        self.shown = False

    def update(self, step: int, loss: float, lr: float) -> None:
        if self.step == 0:
            self.started = time.monotonic()  # time the steps, not the tokenizer before them
        self.step, self.loss, self.lr = step, loss, lr
        if self.live or step % max(1, self.total // 10) == 0 or step == self.total:
            self._draw()

    def validation(self, val_loss: float) -> None:
        self.val = val_loss
        if self.live:
            self._draw()

    def message(self, text: str) -> None:
        if self.shown and self.live:
            self.stream.write("\r\033[K")  # clear the bar; it is drawn again on the next step
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def line(self) -> str:
        done = self.step / self.total if self.total else 1.0
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        rate = self.step / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.step) / rate if rate > 0 else 0.0
        parts = [f"step {self.step:>{len(str(self.total))}}/{self.total} [{bar}] {done:4.0%}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.3f}")
        if self.val is not None:
            parts.append(f"val {self.val:.3f}")
        if self.lr is not None:
            parts.append(f"lr {self.lr:.1e}")
        parts.append(f"{rate:.1f} it/s, {_clock(elapsed)} elapsed, {_clock(left)} left")
        return "  ".join(parts)

    def _draw(self) -> None:
        self.stream.write(("\r\033[K" if self.live else "") + self.line() + ("" if self.live else "\n"))
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown and self.live:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def state_dir() -> Path:
    """The learner's state folder, as the engine computes it ($RETREAT_HOME or .retreat/)."""
    from retreat.course import Course

    return Course.find().state_dir


def _load(reference: bool):  # noqa: ANN202 - the exercise module
    if not reference:
        return retreat.load_exercise(EXERCISE)
    # The solution imports what it builds on with load_exercise; make those the solutions too.
    os.environ["RETREAT_TARGET"] = "solution"
    return retreat.load_solution(EXERCISE)


def _is_solution(script: str) -> bool:
    return Path(script).resolve().parent.parent.name == "solutions"


def parse_args(argv: list[str] | None, defaults) -> argparse.Namespace:  # noqa: ANN001 - a PretrainConfig
    parser = argparse.ArgumentParser(
        prog="python exercises/1_build_an_llm/12_pretraining.py",
        description="Pretrain your GPT on Pride and Prejudice and save it in HuggingFace GPT-2 format.")
    parser.add_argument("--steps", type=int, default=None, help=f"optimisation steps (default {defaults.steps})")
    parser.add_argument("--sample-every", type=int, default=None,
                        help=f"steps between samples, 0 for none (default {defaults.sample_every})")
    parser.add_argument("--eval-every", type=int, default=None,
                        help=f"steps between validation losses (default {defaults.eval_every})")
    parser.add_argument("--seed", type=int, default=None, help=f"random seed (default {defaults.seed})")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint folder (default: <state folder>/checkpoints/pretraining)")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch threads (default: all cores, or 1 when the machine is already busy)")
    parser.add_argument("--reference", action="store_true",
                        help="run the reference solutions instead of your exercises")
    return parser.parse_args(argv)


def main(script: str, argv: list[str] | None = None) -> None:
    """Entry point of `python .../12_pretraining.py`; exits 1 with one line if learner code fails."""
    reference = "--reference" in (argv if argv is not None else sys.argv[1:]) or _is_solution(script)
    try:
        module = _load(reference)
    except Exception as exc:  # a syntax error in the learner's file: the loader's one line says where
        sys.exit(f"error: {exc}")
    config = module.PretrainConfig()
    args = parse_args(argv, config)
    for name in ("steps", "sample_every", "eval_every", "seed"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if config.steps < 1:
        sys.exit("error: --steps must be at least 1")
    out = args.out or state_dir() / "checkpoints" / EXERCISE
    threads = _threads(args.threads)

    text = CORPUS.read_text(encoding="utf-8")
    who = "the reference solution" if reference else "your code"
    print(f"Pretraining a GPT on {CORPUS.name} ({len(text):,} characters) with {who}: {config.steps} steps, "
          f"{threads} thread{'s' if threads > 1 else ''}.")
    bar = ProgressBar(config.steps)

    def on_event(event: dict) -> None:
        kind = event.get("kind")
        if kind == "stage":
            bar.message(f"  {event['text']}...")
        elif kind == "data":
            bar.message(f"  {event['train_tokens']:,} training and {event['val_tokens']:,} validation tokens, "
                        f"{event['parameters']:,} parameters; the unigram baseline is {event['baseline']:.3f}")
        elif kind == "step":
            bar.update(event["step"], event["loss"], event["lr"])
        elif kind == "val":
            bar.validation(event["val_loss"])
        elif kind == "sample":
            bar.message(f"--- sample after {event['step']} steps " + "-" * 30 + f"\n{event['text'].rstrip()}\n"
                        + "-" * 60)

    started = time.monotonic()
    try:
        result = module.pretrain(text, config, on_event)
    except KeyboardInterrupt:
        bar.close()
        sys.exit("interrupted: no checkpoint saved")
    except Exception as exc:
        bar.close()
        line = _one_line(exc)
        if line is None:
            raise  # not from a course file: a bug of ours, keep the traceback
        sys.exit(line)
    bar.close()
    gpt2_checkpoint = retreat.load_support("gpt2_checkpoint")
    folder = gpt2_checkpoint.save_checkpoint(out, result.model, result.tokenizer)
    val = result.val_losses[-1][1] if result.val_losses else float("nan")
    print(f"Done in {_clock(time.monotonic() - started)}: validation loss {val:.3f} "
          f"(unigram baseline {result.baseline:.3f}).")
    print(f"Saved in HuggingFace GPT-2 format: {folder}")
    name = EXERCISE if args.out is None else str(folder)  # retreat generate finds a name in <state>/checkpoints
    # The course's GPT has no position past its context, so prompt + new tokens must fit in it.
    print(f'Try it: retreat generate {name} --prompt "It is a truth" --max-new-tokens '
          f'{config.context_length - 8}{" --reference" if reference else ""}')


def _threads(asked: int | None) -> int:
    """Set and return PyTorch's thread count.

    Threads of one matrix product wait for each other by spinning; on a machine whose cores are
    already busy they mostly wait, and the run gets several times SLOWER than on one thread
    (measured: 2-3 s a step instead of 0.5 s with two cores shared by ten processes).
    """
    import torch

    if asked is None:
        cores = os.cpu_count() or 1
        busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        asked = 1 if busy >= cores - 0.5 else torch.get_num_threads()
    torch.set_num_threads(max(1, asked))
    return torch.get_num_threads()


def _one_line(exc: Exception) -> str | None:
    """What went wrong, and where in a course file, in one line; None if no course file is involved."""
    root = CORPUS.parents[2]
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent.parent.name in ("exercises", "solutions")]
    if not frames:
        return None
    last = frames[-1]
    path = Path(last.filename).resolve()
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if isinstance(exc, NotImplementedError):
        return f"not written yet: {last.name}() still raises NotImplementedError ({shown}:{last.lineno})"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
    return f"error: {type(exc).__name__}: {message} ({shown}:{last.lineno}, in {last.name})"
