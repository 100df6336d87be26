"""Mutants: plausible wrong solutions, stored as edits of the solution text beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from retreat.errors import UsageProblem


@dataclass(frozen=True)
class Mutant:
    name: str
    why: str
    edits: tuple[tuple[str, str], ...]


class MutantError(UsageProblem):
    pass


def load_mutants(path: Path, rel: str) -> list[Mutant]:
    if not path.is_file():
        raise MutantError(f"{rel}: file not found (every exercise keeps at least two mutants)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MutantError(f"{rel}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mutants"), list):
        raise MutantError(f"{rel}: expected a mapping with a 'mutants' list")
    out = []
    for n, raw in enumerate(data["mutants"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("edits"), list):
            raise MutantError(f"{rel}: mutants[{n}] needs a name and a list of edits")
        edits = []
        for e in raw["edits"]:
            if not isinstance(e, dict) or not isinstance(e.get("old"), str) or not isinstance(e.get("new"), str):
                raise MutantError(f"{rel}: mutant {raw['name']!r}: each edit needs 'old' and 'new' text")
            edits.append((e["old"], e["new"]))
        out.append(Mutant(raw["name"], str(raw.get("why", "")), tuple(edits)))
    return out


def apply_mutant(solution_text: str, mutant: Mutant, rel: str) -> str:
    text = solution_text
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise MutantError(f"{rel}: mutant {mutant.name!r}: {old!r} occurs {count} times in the solution "
                              "(it must occur exactly once)")
        text = text.replace(old, new)
    if text == solution_text:
        raise MutantError(f"{rel}: mutant {mutant.name!r} changes nothing")
    return text
