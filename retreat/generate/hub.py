"""Where MODEL is: a folder, a checkpoint the learner trained, or a HuggingFace hub id.

In that order: an existing folder wins; then <state folder>/checkpoints/<MODEL>/ (where the
training exercise saves the learner's model, and where a downloaded model can go too); then a
hub id, taken from the local HuggingFace cache, or downloaded when online. Offline (or when the
hub cannot be reached within a few seconds) the answer is one line saying what to download and
where to put it: a command must never hang on a network that is not there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from retreat.errors import RetreatError
from retreat.generate.checkpoint import BadCheckpoint

CHECKPOINTS = "checkpoints"
"""The folder under the learner's state folder that holds named checkpoints."""

# Only what a run reads: a repository may also hold pickles, ONNX or GGUF copies of the weights.
PATTERNS = ["config.json", "generation_config.json", "tokenizer.json", "model.safetensors",
            "model.safetensors.index.json", "model-*.safetensors"]
TIMEOUT_S = 5.0

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


class HubUnavailable(RetreatError):
    """A hub id that is neither cached nor downloadable now (exit code 1)."""


def checkpoints_dir(state_dir: Path) -> Path:
    return state_dir / CHECKPOINTS


def resolve(model: str, state_dir: Path) -> Path:
    """The folder that holds MODEL's files (downloading a hub id if need be)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise BadCheckpoint(f"{model} is a file: give the folder that holds config.json, the *.safetensors "
                            "weights and tokenizer.json")
    if path.is_absolute() or model.startswith((".", "~")):
        raise BadCheckpoint(f"no folder {model}")
    named = checkpoints_dir(state_dir) / model
    if "/" not in model and named.is_dir():
        return named
    if not _HUB_ID.fullmatch(model):
        raise BadCheckpoint(f"no folder {model}, and no checkpoint of that name in {shown(checkpoints_dir(state_dir))}")
    return from_hub(model, state_dir)


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def download_hint(repo_id: str, state_dir: Path) -> str:
    """The commands that put a hub model where `retreat generate NAME` finds it."""
    name = repo_id.rsplit("/", 1)[-1]
    dest = shown(checkpoints_dir(state_dir) / name)
    return (f"hf download {repo_id} --include '*.json' --include 'model*.safetensors*' --local-dir {dest}"
            f", then: retreat generate {name}")


def shown(path: Path) -> str:
    """The path relative to the current folder when it is inside it (shorter to read and type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def from_hub(repo_id: str, state_dir: Path) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    # The library reads HF_HUB_CACHE once, at import; read it now so a test (or a learner's
    # shell) that sets it later is obeyed.
    cache_dir = os.environ.get("HF_HUB_CACHE") or None
    try:
        return Path(snapshot_download(repo_id, allow_patterns=PATTERNS, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass  # not cached
    except HFValidationError as exc:
        raise BadCheckpoint(f"{repo_id!r} is neither a folder nor a hub id: {exc}") from None
    where = f"no folder {repo_id} here, nor in {shown(checkpoints_dir(state_dir))}"
    if offline():
        raise HubUnavailable(f"{where}, and HF_HUB_OFFLINE is set so the hub is not asked. On a machine with "
                             f"internet: {download_hint(repo_id, state_dir)}")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=PATTERNS, cache_dir=cache_dir,
                                      etag_timeout=TIMEOUT_S))
    except GatedRepoError:
        raise HubUnavailable(f"{repo_id} is gated on the hub: accept its licence on huggingface.co, run "
                             f"'hf auth login', then try again") from None
    except RepositoryNotFoundError:
        raise BadCheckpoint(f"{where}, and the hub has no model {repo_id}") from None
    except Exception as exc:  # noqa: BLE001 - no network shows up as many error types (DNS, proxy, timeout)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HubUnavailable(f"{where}, and the hub cannot be reached ({reason[:120]}). On a machine with "
                             f"internet: {download_hint(repo_id, state_dir)}") from None
