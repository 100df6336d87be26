"""Build the course's model for a checkpoint, the learner's own or the reference, and load it.

`gpt2` runs the gpt-model exercise's GPT (weights through its `load_hf_gpt2`); `llama` runs the
llama exercise's Llama (weights copied by name: its state_dict names are HuggingFace's). Both
come through the course loader, so the learner's Llama runs on the learner's own RoPE, RMSNorm,
GQA and KV cache; `reference=True` loads the solutions all the way down instead.

Anything the course code raises becomes one line: "not written yet: ..." for a stub (a
NotImplementedError, or an exercise file that is still the pristine stub), otherwise the error
and the line of the course file it came from. Errors raised by no course file are ours and keep
their traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from retreat import env
from retreat.errors import RetreatError
from retreat.generate.checkpoint import Checkpoint, read_weights
from retreat.generate.decode import Forward

if TYPE_CHECKING:
    from torch import nn

    from retreat.course import Course

_COURSE_MODULES = "retreat_course."  # the loader registers every course file under this prefix


class LearnerCodeError(RetreatError):
    """The course code the command runs failed or is not written yet (exit code 1)."""


@dataclass(frozen=True)
class Source:
    """Whose code runs: the learner's exercise `item_id`, or its reference solution."""

    course: Course
    item_id: str
    reference: bool = False

    @property
    def who(self) -> str:
        return f"the reference {self.item_id}" if self.reference else f"your {self.item_id}"

    def load(self) -> ModuleType:
        import retreat

        if not self.reference:
            return retreat.load_exercise(self.item_id)
        # A solution imports the pieces it builds on with load_exercise; the grader makes those
        # resolve to solutions too through this variable, and so do we while it is imported.
        before = os.environ.get(env.TARGET)
        os.environ[env.TARGET] = "solution"
        try:
            return retreat.load_solution(self.item_id)
        finally:
            if before is None:
                del os.environ[env.TARGET]
            else:
                os.environ[env.TARGET] = before

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn an error raised in a course file into one LearnerCodeError line."""
        from retreat.loader import ExerciseLoadError

        try:
            yield
        except (RetreatError, KeyboardInterrupt):
            raise
        except ExerciseLoadError as exc:  # a syntax error, or an error while importing: already one line
            raise LearnerCodeError(str(exc)) from None
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            if isinstance(exc, FileNotFoundError) and frames[-1].name == "import_file":
                raise LearnerCodeError(str(exc)) from None  # an exercise file that was deleted
            where = self._where(frames)
            if where is None:
                raise  # not from a course file: a bug of ours, keep the traceback
            if isinstance(exc, NotImplementedError):
                raise LearnerCodeError(f"not written yet: {frames[-1].name}() still raises NotImplementedError "
                                       f"({where})") from None
            self.stubs_first()
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
            raise LearnerCodeError(f"{self.who} failed: {type(exc).__name__}: {message} ({where}); "
                                   f"'retreat check {self.item_id}' runs its tests") from None

    def stubs_first(self) -> None:
        """Raise "not written yet" if the exercise, or one it builds on, is still the stub."""
        unwritten = [] if self.reference else unwritten_exercises(self.course, self.item_id)
        if unwritten:
            first_id, first_file = unwritten[0]
            rest = [i for i, _ in unwritten[1:]]
            more = f"; also still stubs: {', '.join(rest)}" if rest else ""
            raise LearnerCodeError(f"not written yet: {first_id} ({first_file}){more}")

    def _where(self, frames: traceback.StackSummary) -> str | None:
        """'path:line' of the deepest frame in a course file, relative to the course root."""
        files, where = set(_course_modules()), None
        for frame in frames:
            path = Path(frame.filename).resolve()
            if path in files:
                try:
                    shown = path.relative_to(self.course.root).as_posix()
                except ValueError:
                    shown = str(path)
                where = f"{shown}:{frame.lineno}"
        return where


@dataclass
class Runner:
    model: nn.Module
    forward: Forward
    new_cache: Any  # a callable making an empty KV cache; None when the model has none (the course's GPT)
    source: Source

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in {id(p): p for p in self.model.parameters()}.values())


def build(ckpt: Checkpoint, course: Course, reference: bool = False) -> Runner:
    """The model of `ckpt.exercise`, built from its config and loaded with the checkpoint's weights."""
    source = Source(course, ckpt.exercise, reference)
    with source.guard():
        module = source.load()
        if ckpt.model_type == "gpt2":
            model = module.GPT(module.GPTConfig(**ckpt.fields))
            _has_parameters(model, source, "GPT.__init__")
            model.load_hf_gpt2(dict(read_weights(ckpt)))
            return Runner(model.eval(), lambda ids, cache: model(ids), None, source)
        model = module.Llama(module.LlamaConfig(**ckpt.fields))
        _has_parameters(model, source, "Llama.__init__")
        _load_by_name(model, ckpt, source)
        return Runner(model.eval(), lambda ids, cache: model(ids, cache=cache), module.KVCache, source)


def _has_parameters(model: nn.Module, source: Source, where: str) -> None:
    if next(model.parameters(), None) is None:
        source.stubs_first()
        raise LearnerCodeError(f"{source.who} has no parameters ({where} builds no layers)")


def _load_by_name(model: nn.Module, ckpt: Checkpoint, source: Source) -> None:
    """Copy each checkpoint tensor into the parameter of the same name, one at a time."""
    import torch

    params = dict(model.named_parameters(remove_duplicate=False))  # a tied head appears under both names
    written: set[int] = set()
    with torch.no_grad():
        for name, tensor in read_weights(ckpt):
            if name not in params:
                raise LearnerCodeError(f"{source.who} has no parameter {name} (its state_dict names must be "
                                       "HuggingFace's LlamaForCausalLM names)")
            if params[name].shape != tensor.shape:
                raise LearnerCodeError(f"{source.who}'s {name} has shape {tuple(params[name].shape)}, the "
                                       f"checkpoint's is {tuple(tensor.shape)}")
            params[name].copy_(tensor)
            written.add(id(params[name]))
    left = [name for name, p in params.items() if id(p) not in written]
    if left:
        tied = " (with tie_word_embeddings, lm_head must share embed_tokens' weight)" \
            if left == ["lm_head.weight"] and ckpt.fields["tie_word_embeddings"] else ""
        raise LearnerCodeError(f"{source.who}'s {left[0]} is not in the checkpoint{tied}"
                               + (f", nor {len(left) - 1} more of its parameters" if len(left) > 1 else ""))


# -- which exercises are still stubs --------------------------------------------------------------
def _course_modules() -> dict[Path, ModuleType]:
    return {Path(m.__file__).resolve(): m for name, m in list(sys.modules.items())
            if name.startswith(_COURSE_MODULES) and getattr(m, "__file__", None)}


def unwritten_exercises(course: Course, item_id: str) -> list[tuple[str, str]]:
    """(id, file) of `item_id` and of every exercise it builds on whose file is still the pristine
    stub, `item_id` first: what a failure most likely comes from."""
    from retreat.markers import make_stub

    by_file = {course.learner_file(ex).resolve(): ex for ex in course.roadmap.exercises}
    found = []
    for path in _imported_by(course.learner_file(course.exercise(item_id)).resolve()):
        ex = by_file.get(path)
        if ex is None:
            continue
        try:
            pristine = make_stub(course.solution_file(ex).read_text(encoding="utf-8"), ex.solution)
            if path.read_text(encoding="utf-8", errors="replace") == pristine:
                found.append((ex.id, ex.exercise))
        except (OSError, RetreatError):
            continue
    return found


def _imported_by(path: Path) -> list[Path]:
    """The course file at `path` (if it is imported) and the course modules its globals hold
    (`_rope = retreat.load_exercise("rope")`), recursively, in the order first reached."""
    modules = _course_modules()
    order: list[Path] = []
    todo = [path] if path in modules else []
    while todo:
        here = todo.pop(0)
        if here in order:
            continue
        order.append(here)
        for value in vars(modules[here]).values():
            file = getattr(value, "__file__", None)
            if isinstance(value, ModuleType) and value.__name__.startswith(_COURSE_MODULES) and file:
                todo.append(Path(file).resolve())
    return order
