"""Records the progress database could not take yet, kept until a later command writes them.

A record that cannot be written (the database is held by another program past the wait, the disk
is full, the state folder is read-only or belongs to someone else) is appended as one JSON line to
`pending.jsonl` in the state folder or, when that folder cannot be written either, to a file
outside it named after the state folder (`$XDG_STATE_HOME/retreat/`, then a private folder under
the temporary directory). The next command that opens the database claims each file by renaming
it (so two commands never write the same records twice), writes its records in one transaction
and deletes it. Writing a record twice is harmless anyway: learner/progress.py applies a replayed
record only when the database does not hold it or something newer already.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PENDING_NAME = "pending.jsonl"
_CLAIM = ".replaying"


def locations(state_dir: Path) -> list[Path]:
    """Where a pending record may be kept, in the order tried: the state folder, then outside it."""
    import hashlib  # here, not at the top: every `retreat next` imports this module

    key = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]
    name = f"pending-{key}.jsonl"
    out = [state_dir / PENDING_NAME]
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    out.append(base / "retreat" / name)
    import tempfile  # only on the fallback path: it costs `retreat next` milliseconds

    out.append(Path(tempfile.gettempdir()) / f"retreat-{os.getuid()}" / name)
    return out


def _private_folder(folder: Path) -> bool:
    """Create `folder` if needed; False when it is someone else's or a link (a shared /tmp)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return False
    return not os.path.islink(folder) and st.st_uid == os.getuid()


def keep(state_dir: Path, record: dict) -> Path | None:
    """Append `record` to the first location that takes it; the file it went to, or None."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    for n, path in enumerate(locations(state_dir)):
        if n and not _private_folder(path.parent):
            continue
        try:
            if n == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                # One write of one line: appends from two processes never interleave within a line.
                if os.write(fd, line) != len(line):
                    raise OSError("short write")
                os.fsync(fd)
            finally:
                os.close(fd)
            return path
        except OSError:
            continue
    return None


@dataclass
class Claim:
    """Pending records taken out of their file by one command, which writes them or gives them back."""

    source: Path
    claimed: Path
    records: list[dict]
    unreadable: list[bytes]
    """Lines that are not a record this retreat knows (kept aside by `keep_unreadable`, never dropped)."""

    def done(self) -> None:
        self.claimed.unlink(missing_ok=True)

    def give_back(self) -> None:
        """Put the records back where they were (appended, so records kept meanwhile stay too)."""
        try:
            data = self.claimed.read_bytes()
            fd = os.open(self.source, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            self.claimed.unlink()
        except OSError:
            pass  # the claimed file stays; a later command finds it (see claim_all)


def keep_unreadable(claim: Claim, lines: list[bytes]) -> Path | None:
    """Append lines no record could be made of to `<pending file>.unreadable`, for a person to read."""
    path = claim.source.with_name(claim.source.name + ".unreadable")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, b"".join(line.rstrip(b"\n") + b"\n" for line in lines))
        finally:
            os.close(fd)
    except OSError:
        return None
    return path


def peek(state_dir: Path) -> list[dict]:
    """Every pending record, left where it is (for a read-only view of the progress)."""
    out: list[dict] = []
    for path in _existing(state_dir):
        out += _parse(path)[0]
    return out


def claim_all(state_dir: Path) -> list[Claim]:
    """Take every pending file (and any left claimed by a command that died) for writing."""
    claims = []
    for path in _existing(state_dir):
        # A claimed file is named <source>.<pid>-<random>.replaying.
        source = path.with_name(path.name[: -len(_CLAIM)].rsplit(".", 1)[0]) if path.name.endswith(_CLAIM) else path
        claimed = path.with_name(f"{source.name}.{os.getpid()}-{os.urandom(4).hex()}{_CLAIM}")
        try:
            os.replace(path, claimed)  # only one command wins the rename
        except OSError:
            continue
        records, unreadable = _parse(claimed)
        claims.append(Claim(source, claimed, records, unreadable))
    return claims


def _existing(state_dir: Path) -> list[Path]:
    found = []
    for path in locations(state_dir):
        try:
            if path.is_file():
                found.append(path)
            found += [p for p in path.parent.glob(f"{path.name}.*{_CLAIM}") if _abandoned(p)]
        except OSError:
            continue
    return found


def _abandoned(claimed: Path) -> bool:
    """A claimed file whose command is gone (it died between claiming and writing)."""
    try:
        pid = int(claimed.name[: -len(_CLAIM)].rsplit(".", 1)[1].split("-")[0])
        os.kill(pid, 0)
    except (ValueError, IndexError):
        return True
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, and someone else's
        return False
    return False


def _parse(path: Path) -> tuple[list[dict], list[bytes]]:
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return [], []
    records, unreadable = [], []
    for raw in lines:
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("op"), str):
            records.append(record)
        elif raw.strip():
            unreadable.append(raw)
    return records, unreadable
