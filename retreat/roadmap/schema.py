"""The roadmap's JSON Schema, generated from the types in model.py (their field docstrings are its
documentation). It ships as retreat/schema/roadmap.schema.json, the path roadmap.yaml's first line
gives editors; `retreat dev schema` rewrites it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from retreat.files import atomic_write
from retreat.roadmap.model import CourseInfo, Exercise, Quiz, Reading

SCHEMA_PATH = Path(__file__).parents[1] / "schema" / "roadmap.schema.json"


def _schema() -> dict[str, Any]:
    from dataclasses import dataclass

    from pydantic import TypeAdapter

    @dataclass(frozen=True)
    class StageFile:
        """A stage file included from roadmap.yaml."""

        __pydantic_config__ = {"extra": "forbid", "use_attribute_docstrings": True}
        items: list[Exercise | Reading | Quiz]
        """The stage's items in order: readings, exercises and quizzes."""

    @dataclass(frozen=True)
    class StageEntry:
        """A stage of the course."""

        __pydantic_config__ = {"extra": "forbid", "use_attribute_docstrings": True}
        id: str
        """Stable id of the stage."""
        title: str
        """Shown as the stage's heading."""
        dir: str
        """Folder name under exercises/, solutions/ and tests/ (e.g. 0_foundations)."""
        summary: str = ""
        """One sentence on what the stage covers."""
        items: list[Exercise | Reading | Quiz] | None = None
        """The stage's items, inline (or use include)."""
        include: str | list[str] | None = None
        """File(s) holding the stage's items: a mapping with one key, items."""

    @dataclass(frozen=True)
    class RoadmapFile:
        """roadmap.yaml, format version 1."""

        __pydantic_config__ = {"extra": "forbid", "use_attribute_docstrings": True}
        format_version: Literal[1]
        """The roadmap format version; this retreat reads 1."""
        course: CourseInfo
        """Course metadata."""
        stages: list[StageEntry]
        """The stages in order."""

    schema = TypeAdapter(RoadmapFile).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://retreat.invalid/roadmap.schema.json"
    schema["$defs"]["StageFile"] = TypeAdapter(StageFile).json_schema()
    inner = schema["$defs"]["StageFile"].pop("$defs", {})
    schema["$defs"].update({k: v for k, v in inner.items() if k not in schema["$defs"]})
    return schema


def render_schema() -> str:
    return json.dumps(_schema(), indent=2, sort_keys=True) + "\n"


def schema_is_current() -> bool:
    """Whether the shipped schema matches the types."""
    return SCHEMA_PATH.is_file() and SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()


def write_schema() -> None:
    """Write the shipped schema from the types."""
    atomic_write(SCHEMA_PATH, render_schema())
