"""Small file helpers every part shares: atomic writes, stamped backup names, a Markdown page's title."""

from __future__ import annotations

import os
import time
from pathlib import Path


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `path` so that a reader (or a crash) sees the old content or the new, never half a file.

    The text goes to a temporary file beside it, which then replaces it in one rename. Text is
    written as UTF-8; the parent folder is created if needed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")  # os.urandom: uuid costs `next` 2 ms
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def stamped_path(folder: Path, prefix: str, suffix: str = "") -> Path:
    """A new path `<prefix><date-time><suffix>` in `folder` (`-1`, `-2`... added if it is taken),
    for a copy set aside: a backup, a database before its migration."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder / f"{prefix}{stamp}{suffix}"
    n = 1
    while target.exists():
        target = folder / f"{prefix}{stamp}-{n}{suffix}"
        n += 1
    return target


def first_heading(text: str) -> str | None:
    """The text of a Markdown page's first `# ` heading, if it has one."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None


def page_title(path: Path, fallback: str) -> str:
    """A Markdown file's own title (its first `# ` heading), or `fallback` when it has none or
    cannot be read."""
    try:
        heading = first_heading(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return fallback
    return fallback if heading is None else heading
