"""Forbidden shortcuts: calls an exercise asks the learner to write by hand, forbidden by meaning.

An exercise's `forbid:` entry names one callable (`torch.softmax`); what it forbids is what that
callable computes. MEANINGS below is the one table of meanings: each lists every callable object
that computes it (functions, classes, tensor methods, other modules' copies, the internal
bindings in torch._C and the torch.ops.aten operators) and names the meanings that give it in one
step (softmin(-x) is softmax(x); exp(log_softmax(x)) is softmax(x)). An entry forbids its own
meaning and those equivalents; an entry no meaning lists forbids itself.

Enforced twice:
- A static scan of the learner's file resolves import aliases (`import torch.nn.functional as F`,
  `from torch import special`), constant `getattr(torch, "softmax")` and `importlib.import_module`
  calls, and flags every spelling of a forbidden meaning, as a name or as a method on a value
  (`x.softmax(-1)`).
- A run-time guard, installed in the grading child before the learner's module is imported,
  replaces every binding of every forbidden callable it can reach (every module that holds the
  object, the tensor class, the operator namespace) by a wrapper, and patches forbidden classes
  in place. A call raises `ForbiddenCall` when any frame of the call stack belongs to the graded
  file: the learner's own helper, another of their modules or a torch module that calls the
  forbidden op on their behalf is caught, and the tests' oracle calls (no learner frame) are not.
  This catches what a scan cannot see (`getattr(torch, "soft" + "max")`). Bindings Python cannot
  rebind (torch._C.TensorBase.softmax, torch._C._VariableFunctions.softmax) are left to the scan.

What this does not stop: code that sets out to hide a call (rebuilding a name from pieces and
reaching an internal binding, patching the guard away). docs/guide/promises.md says why that is
out of scope on a learner's machine and caught in the classroom.
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import sys
from dataclasses import dataclass


class ForbiddenCall(Exception):
    """A forbidden function or class was used by the graded file."""


def explain(name: str) -> str:
    return (f"{name} is off limits in this exercise: the point is to write it yourself "
            "from simpler operations")


@dataclass(frozen=True)
class Meaning:
    """What a forbidden call computes, and every callable that computes it."""

    name: str
    spellings: tuple[str, ...]
    equivalents: tuple[str, ...] = ()
    """Meanings that give this one in a single step; forbidding this one forbids them too."""


def _aten(*ops: str) -> tuple[str, ...]:
    return tuple(f"torch.ops.aten.{op}" for op in ops)


_MEANINGS = (
    Meaning("softmax", (
        "torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax", "torch.special.softmax",
        "torch.nn.Softmax", "torch.nn.Softmax2d", "torch._softmax", "torch._safe_softmax",
        "torch._C._VariableFunctions.softmax", "torch._C._VariableFunctions._softmax",
        "torch._C._VariableFunctions._safe_softmax", "torch._C.TensorBase.softmax",
        "torch._C._special.special_softmax", "scipy.special.softmax",
        *_aten("softmax", "_softmax", "_safe_softmax")),
        equivalents=("softmin", "log_softmax")),  # softmin(-x) is softmax(x); so is exp(log_softmax(x))
    Meaning("softmin", ("torch.nn.functional.softmin", "torch.nn.Softmin"), equivalents=("softmax", "log_softmax")),
    Meaning("log_softmax", (
        "torch.log_softmax", "torch.nn.functional.log_softmax", "torch.Tensor.log_softmax",
        "torch.special.log_softmax", "torch.nn.LogSoftmax", "torch._log_softmax",
        "torch._C._VariableFunctions.log_softmax", "torch._C._VariableFunctions._log_softmax",
        "torch._C.TensorBase.log_softmax", "torch._C._special.special_log_softmax", "scipy.special.log_softmax",
        *_aten("log_softmax", "_log_softmax")),
        equivalents=("softmax", "softmin")),  # log(softmax(x)) is log_softmax(x)
    Meaning("logsumexp", (
        "torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp",
        "torch._C._VariableFunctions.logsumexp", "torch._C.TensorBase.logsumexp",
        "torch._C._special.special_logsumexp", "scipy.special.logsumexp", *_aten("logsumexp"))),
    Meaning("cross_entropy", (
        "torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss", "torch._C._nn.cross_entropy_loss",
        *_aten("cross_entropy_loss"))),
    Meaning("nll_loss", (
        "torch.nn.functional.nll_loss", "torch.nn.NLLLoss", "torch.nn.NLLLoss2d", "torch._C._nn.nll_loss",
        "torch._C._nn.nll_loss2d", "torch._C._nn.nll_loss_nd",
        *_aten("nll_loss", "nll_loss2d", "nll_loss_nd", "nll_loss_forward"))),
    Meaning("mse_loss", (
        "torch.nn.functional.mse_loss", "torch.nn.MSELoss", "torch._C._nn.mse_loss", *_aten("mse_loss"))),
    Meaning("automatic differentiation", (
        "torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad",
        "torch.autograd.Variable._execution_engine.run_backward",
        "torch.autograd.variable.Variable._execution_engine.run_backward",
        "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp", "torch.func.jacrev",
        "torch.func.jacfwd", "torch.func.hessian", "torch.autograd.functional.vjp", "torch.autograd.functional.jvp",
        "torch.autograd.functional.jacobian", "torch.autograd.functional.hessian", "torch.autograd.functional.vhp",
        "torch.autograd.functional.hvp", "torch.autograd.forward_ad.make_dual")),
    Meaning("SGD", (
        "torch.optim.SGD", "torch.optim.sgd.SGD", "torch.optim.sgd.sgd", "torch.optim._functional.sgd",
        "torch._fused_sgd_", *_aten("_fused_sgd_"))),
    Meaning("Adam", (
        "torch.optim.Adam", "torch.optim.adam.Adam", "torch.optim.adam.adam", "torch.optim._functional.adam",
        "torch._fused_adam_", *_aten("_fused_adam_")),
        equivalents=("AdamW",)),  # AdamW with weight_decay=0 is Adam
    Meaning("AdamW", (
        "torch.optim.AdamW", "torch.optim.adamw.AdamW", "torch.optim.adamw.adamw", "torch.optim._functional.adamw",
        "torch._fused_adamw_", *_aten("_fused_adamw_")),
        equivalents=("Adam",)),  # Adam(decoupled_weight_decay=True) is AdamW
    Meaning("GELU", ("torch.nn.functional.gelu", "torch.nn.GELU", "torch._C._nn.gelu", *_aten("gelu"))),
    Meaning("SiLU", ("torch.nn.functional.silu", "torch.nn.SiLU", "torch._C._nn.silu", "torch._C._nn.silu_",
                     *_aten("silu", "silu_"))),
    Meaning("layer norm", (
        "torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.LayerNorm", "torch.native_layer_norm",
        "torch._C._VariableFunctions.layer_norm", "torch._C._VariableFunctions.native_layer_norm",
        *_aten("layer_norm", "native_layer_norm")),
        # Each normalises a row by its own mean and variance once the axes are arranged for it.
        equivalents=("group norm", "instance norm", "batch norm")),
    Meaning("group norm", ("torch.nn.functional.group_norm", "torch.nn.GroupNorm", "torch.group_norm",
                           "torch.native_group_norm", *_aten("group_norm", "native_group_norm"))),
    Meaning("instance norm", ("torch.nn.functional.instance_norm", "torch.nn.InstanceNorm1d", "torch.instance_norm",
                              *_aten("instance_norm"))),
    Meaning("batch norm", ("torch.nn.functional.batch_norm", "torch.nn.BatchNorm1d", "torch.batch_norm",
                           "torch.native_batch_norm", *_aten("batch_norm", "native_batch_norm"))),
    Meaning("RMS norm", ("torch.nn.RMSNorm", "torch.nn.functional.rms_norm", "torch.rms_norm", "torch._fused_rms_norm",
                         *_aten("rms_norm", "_fused_rms_norm"))),
    Meaning("scaled dot-product attention", (
        "torch.nn.functional.scaled_dot_product_attention", "torch._C._nn.scaled_dot_product_attention",
        "torch._scaled_dot_product_attention_math", "torch._scaled_dot_product_flash_attention_for_cpu",
        "torch._scaled_dot_product_efficient_attention", "torch._scaled_dot_product_flash_attention",
        "torch._scaled_dot_product_cudnn_attention", "torch.nn.attention.flex_attention.flex_attention",
        *_aten("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
               "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
               "_scaled_dot_product_flash_attention", "_scaled_dot_product_cudnn_attention",
               "_scaled_dot_product_fused_attention_overrideable")),
        equivalents=("multi-head attention",)),
    Meaning("multi-head attention", (
        "torch.nn.MultiheadAttention", "torch.nn.functional.multi_head_attention_forward",
        "torch._native_multi_head_attention", "torch._transformer_encoder_layer_fwd", "torch.nn.Transformer",
        "torch.nn.TransformerEncoderLayer", "torch.nn.TransformerDecoderLayer", "torch.nn.TransformerEncoder",
        "torch.nn.TransformerDecoder", *_aten("_native_multi_head_attention")),
        equivalents=("scaled dot-product attention",)),
    Meaning("repeat_interleave", (
        "torch.repeat_interleave", "torch.Tensor.repeat_interleave", "torch._C.TensorBase.repeat_interleave",
        "torch._C._VariableFunctions.repeat_interleave", *_aten("repeat_interleave"))),
    Meaning("categorical distribution", (
        "torch.distributions.Categorical", "torch.distributions.categorical.Categorical",
        "torch.distributions.OneHotCategorical", "torch.distributions.one_hot_categorical.OneHotCategorical")),
    Meaning("gradient-norm clipping", (
        "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.clip_grad_norm",
        "torch.nn.utils.clip_grad.clip_grad_norm", "torch.nn.utils.get_total_norm",
        "torch.nn.utils.clip_grad._get_total_norm", "torch.nn.utils.clip_grads_with_norm_",
        "torch.nn.utils.clip_grad._clip_grads_with_norm_")),
    Meaning("ROC AUC", ("sklearn.metrics.roc_auc_score", "sklearn.metrics._ranking.roc_auc_score")),
    Meaning("Brier score", ("sklearn.metrics.brier_score_loss", "sklearn.metrics._classification.brier_score_loss")),
    Meaning("calibration curve", ("sklearn.calibration.calibration_curve",)),
)
MEANINGS: dict[str, Meaning] = {m.name: m for m in _MEANINGS}
"""Every meaning an exercise can forbid, by name: what `forbid: [torch.softmax]` stands for."""

_METHOD_OWNERS = ("torch.Tensor.", "torch._C.TensorBase.")


@dataclass(frozen=True)
class Forbidden:
    """One spelling a `forbid:` list rules out, and why."""

    spelling: str
    entry: str
    """The exercise's own forbid entry it falls under."""
    meaning: str | None
    """The meaning of that entry (None for an entry no meaning lists)."""

    def why(self) -> str:
        """'' when the spelling is the entry itself, else a few words on why it counts."""
        if self.spelling == self.entry or self.meaning is None:
            return ""
        own = next((m.name for m in _MEANINGS if self.spelling in m.spellings), self.meaning)
        if own == self.meaning:
            return f"{self.meaning}, like {self.entry}"
        return f"{own}, which gives {self.meaning} in one step"


def expand(forbidden: tuple[str, ...] | list[str]) -> dict[str, Forbidden]:
    """Every spelling the entries forbid: each entry, and every spelling of its meaning and of the
    meanings equivalent to it. An entry's own spelling keeps the entry's name."""
    out: dict[str, Forbidden] = {}
    for entry in forbidden:
        for meaning in (m for m in _MEANINGS if entry in m.spellings):
            for name in (meaning.name, *meaning.equivalents):
                for spelling in MEANINGS[name].spellings:
                    out.setdefault(spelling, Forbidden(spelling, entry, meaning.name))
    for entry in forbidden:  # an entry is always its own name, whatever else also forbids it
        meaning = next((m.name for m in _MEANINGS if entry in m.spellings), None)
        out[entry] = Forbidden(entry, entry, meaning)
    return out


@dataclass(frozen=True)
class Violation:
    line: int
    name: str
    """The forbidden spelling the file uses (the exercise's own entry when it uses that)."""
    via: str
    """How the file wrote it."""
    why: str = ""

    def message(self, rel: str) -> str:
        detail = ": ".join(part for part in (self.name if self.via != self.name else "", self.why) if part)
        shown = f"{self.via} ({detail})" if detail else self.via
        return f"{rel}:{self.line} uses {shown}; {explain(self.name).split(': ', 1)[1]}"


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression spells, with import aliases and constant getattr resolved."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "__dict__" and (key := _constant_text(node.slice)) is not None:
            parts.append(key)  # torch.__dict__["softmax"]
            node = node.value.value
        elif isinstance(node, ast.Call) and _is_name(node.func, "getattr", aliases) and len(node.args) >= 2 \
                and (attr := _constant_text(node.args[1])) is not None:
            parts.append(attr)  # getattr(torch, "softmax")
            node = node.args[0]
        elif isinstance(node, ast.Call) and node.args and (module := _constant_text(node.args[0])) is not None \
                and (_dotted(node.func, aliases) in ("importlib.import_module", "builtins.__import__")
                     or _is_name(node.func, "__import__", aliases)):
            return ".".join([module, *reversed(parts)])  # importlib.import_module("torch.nn.functional")
        elif isinstance(node, ast.Name):
            head = aliases.get(node.id, node.id)
            return ".".join([head, *reversed(parts)])
        else:
            return None


def _is_name(node: ast.AST, name: str, aliases: dict[str, str]) -> bool:
    return isinstance(node, ast.Name) and node.id == name and node.id not in aliases


def _constant_text(node: ast.AST) -> str | None:
    """A string known before running: a literal, or literals joined with +."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_text(node.left), _constant_text(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)  # type: ignore[attr-defined]
    return None


def scan_source(text: str, forbidden: tuple[str, ...] | list[str]) -> list[Violation]:
    """Every use of a forbidden spelling in `text`, with import aliases resolved."""
    if not forbidden:
        return []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # the grader reports the syntax error itself
    spellings = expand(forbidden)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    methods: dict[str, Forbidden] = {}
    for spelling, f in spellings.items():
        for owner in _METHOD_OWNERS:
            if spelling.startswith(owner):
                name = spelling[len(owner):]
                if name not in methods or f.spelling == f.entry:
                    methods[name] = f
    found: list[Violation] = []
    seen: set[tuple[int, str]] = set()

    def flag(line: int, f: Forbidden, via: str) -> None:
        if (line, f.spelling) not in seen:
            seen.add((line, f.spelling))
            found.append(Violation(line, f.spelling, via, f.why()))

    def match(full: str) -> Forbidden | None:
        # torch.ops.aten._softmax.default and nn.Softmax.forward are uses of what they belong to.
        parts = full.split(".")
        for cut in range(len(parts), 0, -1):
            hit = spellings.get(".".join(parts[:cut]))
            if hit is not None:
                return hit
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                hit = match(f"{node.module}.{a.name}")
                if hit is not None:
                    flag(node.lineno, hit, f"from {node.module} import {a.name}")
        if isinstance(node, ast.Import):
            for a in node.names:
                hit = match(a.name)
                if hit is not None:
                    flag(node.lineno, hit, f"import {a.name}")
        if isinstance(node, ast.Attribute | ast.Name | ast.Call | ast.Subscript) \
                and not isinstance(getattr(node, "ctx", None), ast.Store):
            full = _dotted(node, aliases)
            if full:
                hit = match(full)
                if hit is not None and not (isinstance(node, ast.Name) and node.id not in aliases):
                    flag(node.lineno, hit, ast.unparse(node))
            if isinstance(node, ast.Attribute) and node.attr in methods:
                base_full = _dotted(node.value, aliases)
                # x.softmax(...) on a value; torch.softmax itself is matched above when forbidden.
                if base_full is None or base_full.split(".")[0] not in ("torch", "numpy", "math", "scipy"):
                    flag(node.lineno, methods[node.attr], f".{node.attr}()")
    return sorted(found, key=lambda v: (v.line, v.name))


def forbidden_uses(text: str, forbidden: tuple[str, ...] | list[str], rel: str, limit: int = 3) -> str | None:
    """The scan's verdict on a file, in one line (up to `limit` uses), or None when it is clean."""
    found = scan_source(text, forbidden)
    return "; ".join(v.message(rel) for v in found[:limit]) if found else None


# -- the runtime guard ---------------------------------------------------------------------------

_HEAVY_OK = ("torch", "numpy")  # imported to be guarded; anything else only when already imported


def _resolve(name: str) -> tuple[object, str, object] | None:
    """(owner, attribute, value) for a dotted name, importing what must be imported; None if absent."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        top = module_name.split(".")[0]
        if top not in sys.modules and top not in _HEAVY_OK:
            continue  # never import a heavy library only to guard it
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
            return owner, parts[-1], getattr(owner, parts[-1])
        except AttributeError:
            return None
    return None


def install_guards(forbidden: list[str], graded: str) -> list[str]:
    """Guard every forbidden callable the process can reach, so that a call with the graded file
    anywhere on the call stack raises ForbiddenCall. Returns the spellings guarded."""
    graded_path = os.path.realpath(graded)
    found: dict[int, tuple[object, Forbidden]] = {}
    owners: list[tuple[object, str, object, Forbidden]] = []
    for spelling, f in expand(forbidden).items():
        resolved = _resolve(spelling)
        if resolved is None:
            continue
        owner, attr, value = resolved
        if getattr(value, "__retreat_guard__", False) or not callable(value):
            continue
        found.setdefault(id(value), (value, f))
        owners.append((owner, attr, value, f))
    guards: dict[int, object] = {}
    installed = []
    for key, (value, f) in found.items():
        if isinstance(value, type):
            _guard_class(value, f, graded_path)
            installed.append(f.spelling)
        else:
            guards[key] = _guard_callable(value, f, graded_path)
    for owner, attr, value, f in owners:  # the bindings named in the table
        if id(value) in guards and _rebind(owner, attr, guards[id(value)]):
            installed.append(f.spelling)
    # Every other binding of the same object: a module's own copy (torch.nn.functional.softmax is
    # torch._C._nn's), an alias another module made at import.
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            guard = guards.get(id(value))
            if guard is not None and found[id(value)][0] is value:
                _rebind(module, attr, guard)
    return installed


def _rebind(owner: object, attr: str, guard: object) -> bool:
    try:
        setattr(owner, attr, guard)
        return True
    except Exception:  # an extension type (torch._C.TensorBase), a read-only proxy: the scan covers it
        return False


@functools.lru_cache(maxsize=4096)
def _real(filename: str) -> str:
    return os.path.realpath(filename)


def _learner_line(graded_path: str) -> int | None:
    """The line of the innermost frame of the graded file on the call stack, if there is one."""
    frame = sys._getframe(2)
    while frame is not None:
        if _real(frame.f_code.co_filename) == graded_path:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _refuse(f: Forbidden, line: int, verb: str) -> ForbiddenCall:
    why = f.why()
    shown = f"{f.spelling} ({why})" if why else f.spelling
    return ForbiddenCall(f"line {line} {verb} {shown}; {explain(f.entry).split(': ', 1)[1]}")


def _guard_callable(func, f: Forbidden, graded_path: str):
    def guarded(*args, **kwargs):
        line = _learner_line(graded_path)
        if line is not None:
            raise _refuse(f, line, "calls")
        return func(*args, **kwargs)

    try:
        functools.update_wrapper(guarded, func)
    except (AttributeError, TypeError):
        pass
    guarded.__retreat_guard__ = True  # type: ignore[attr-defined]
    if type(func).__name__ == "OpOverloadPacket":  # torch.ops.aten.x.default and its other overloads
        return _GuardedOp(func, guarded, f, graded_path)
    return guarded


class _GuardedOp:
    """A torch operator packet whose call and overloads (`.default`, `.int`) are guarded."""

    __retreat_guard__ = True

    def __init__(self, packet, call, f: Forbidden, graded_path: str) -> None:
        self._packet, self._call, self._forbidden, self._graded = packet, call, f, graded_path

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str):
        value = getattr(self._packet, name)
        if type(value).__name__ == "OpOverload":
            return _guard_callable(value, self._forbidden, self._graded)
        return value


def _guard_class(cls: type, f: Forbidden, graded_path: str) -> None:
    """Patch the class itself, so every alias of it and every subclass is guarded: building one
    with the graded file on the call stack raises ForbiddenCall."""
    original_init = cls.__dict__.get("__init__", None)
    inherited = original_init is None

    def __init__(self, *args, **kwargs):
        line = _learner_line(graded_path)
        if line is not None:
            raise _refuse(f, line, "builds")
        if inherited:
            super(cls, self).__init__(*args, **kwargs)
        else:
            original_init(self, *args, **kwargs)

    if original_init is not None:
        functools.update_wrapper(__init__, original_init)
    cls.__init__ = __init__  # type: ignore[misc]
    cls.__retreat_guard__ = True  # type: ignore[attr-defined]
