"""Read a Python file as Python itself reads it: the encoding its coding line or BOM declares
(UTF-8 otherwise), universal newlines. Whatever retreat reads from the learner's source (the
forbidden-call scan, the check that a file is still the stub, the site's source pages) reads it
here, so a file Python runs is a file retreat reads.

A file Python cannot read (a NUL byte, bytes its encoding does not allow, an unknown encoding)
raises `SourceError`: one line naming the file and the line, instead of a traceback, or the
interpreter's "line None".
"""

from __future__ import annotations

import codecs
import io
import tokenize
from pathlib import Path


class SourceError(ValueError):
    """A Python file that cannot be read as source; the message names the file and the line."""

    def __init__(self, rel: str, line: int, message: str) -> None:
        super().__init__(f"{rel}: line {line}: {message}")
        self.rel, self.line, self.message = rel, line, message


def read_source(path: Path, rel: str | None = None) -> str:
    """The text of the Python file at `path` (`rel` names it in errors); OSError when it cannot be
    read at all, SourceError when its bytes are not source Python accepts."""
    return decode_source(path.read_bytes(), rel or str(path))


def decode_source(data: bytes, rel: str) -> str:
    """`data` decoded as Python decodes a source file, with '\\n' for every line ending."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise SourceError(rel, _line_at(data, nul), "a NUL byte (\\x00), which Python source cannot contain "
                          "(was the file saved as UTF-16, or damaged?); save it as UTF-8 text")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown encoding, a coding line that contradicts the BOM, or
        if "invalid or missing" in str(exc.msg):  # one of the first two lines is not UTF-8
            encoding = "utf-8"
        else:
            what = "a UTF-8 BOM, but a coding line that declares another encoding" \
                if data.startswith(codecs.BOM_UTF8) else str(exc.msg)
            raise SourceError(rel, exc.lineno or _cookie_line(data), f"{what}; save the file as UTF-8 text") from None
    try:
        text = data.decode(encoding)  # utf-8-sig drops the BOM
    except UnicodeDecodeError as exc:
        name = codecs.lookup(encoding).name.replace("utf-8-sig", "utf-8").upper()
        declared = "" if name == "UTF-8" else " (as its coding line declares)"
        raise SourceError(rel, _line_at(data, exc.start),
                          f"not valid {name}{declared}: byte 0x{data[exc.start]:02x} cannot be read; save the file "
                          "as UTF-8, or declare its encoding on the first line (# -*- coding: latin-1 -*-)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _cookie_line(data: bytes) -> int:
    """The line of the coding declaration (Python looks at the first two only)."""
    first = data.split(b"\n", 1)[0]
    return 1 if b"coding" in first else 2
