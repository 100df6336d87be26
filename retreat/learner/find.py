"""`retreat find`: a learner arrives with a question, not a chapter number.

Searches the roadmap's items (titles, summaries, readings), the exercises' hints, the course's
notes pages and the learner's journal, and ranks them with BM25 (field-weighted, so a match in a
title counts more than one in a paragraph). Solutions are never searched. A hint that matches is
named, not shown: `retreat hint` reveals hints one at a time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from retreat.course import Course
from retreat.files import first_heading
from retreat.learner.journal import display, questions
from retreat.roadmap import Exercise, Reading
from retreat.roadmap.overlay import OVERLAY_FILE

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an and are as at be by can do does for from how i in into is it its me my of on or so
than that the their them then there these this to was we what when where which who why will with you your""".split())
_K1, _B = 1.2, 0.75


def terms(text: str) -> list[str]:
    """Lower-case words, plurals folded ('caches' -> 'cache')."""
    out = []
    for w in _WORD.findall(text.lower()):
        if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
        out.append(w)
    return out


@dataclass(frozen=True)
class Match:
    kind: str
    """'item', 'hints', 'course notes' or 'journal'."""
    item_id: str | None
    """The item it belongs to (None for a notes page of no item)."""
    title: str
    file: str
    """Relative to the course root (a journal outside the course: absolute)."""
    line: int | None
    snippet: str
    score: float

    def to_json(self) -> dict:
        return {"kind": self.kind, "id": self.item_id, "title": self.title, "file": self.file,
                "line": self.line, "snippet": self.snippet, "score": round(self.score, 3)}


@dataclass
class _Doc:
    kind: str
    item_id: str | None
    title: str
    file: str
    line: int | None = None
    lines: list[str] = field(default_factory=list)
    """Text lines a snippet is taken from (empty: no snippet)."""
    snippet: str = ""
    tf: Counter = field(default_factory=Counter)
    length: float = 0.0

    def add(self, text: str, weight: float = 1.0) -> None:
        words = terms(text)
        for w in words:
            self.tf[w] += weight
        self.length += len(words)


def find(course: Course, query: str, limit: int = 8) -> list[Match]:
    """The best matches for `query`, best first."""
    words = terms(query)
    q = [w for w in words if w not in _STOP] or words
    if not q:
        return []
    docs = _documents(course)
    n = len(docs)
    avg = sum(d.length for d in docs) / n if n else 1.0
    df = Counter(w for d in docs for w in set(q) if d.tf[w])
    phrase = " ".join(words)
    scored = []
    for d in docs:
        hit = [w for w in set(q) if d.tf[w]]
        if not hit:
            continue
        score = 0.0
        for w in hit:
            idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            tf = d.tf[w]
            score += idf * tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * d.length / (avg or 1.0)))
        score *= 0.5 + 0.5 * len(hit) / len(set(q))  # matching every word beats repeating one
        if len(words) > 1 and phrase in " ".join(terms(" ".join(d.lines) or d.title)):
            score *= 1.5
        scored.append((score, d))
    scored.sort(key=lambda sd: -sd[0])
    out = []
    for score, d in scored[:limit]:
        line, snippet = _snippet(d, set(q), phrase if len(words) > 1 else "")
        out.append(Match(d.kind, d.item_id, d.title, d.file, line, snippet, score))
    return out


def _documents(course: Course) -> list[_Doc]:
    roadmap = course.roadmap
    docs: list[_Doc] = []
    notes_of: dict[str, str] = {}
    texts: dict[str, list[str]] = {}
    for stage in roadmap.stages:
        for item in stage.items:
            sources = [OVERLAY_FILE] if item.id in roadmap.added else \
                [stage.source, *(f for f in roadmap.files if f not in (stage.source, OVERLAY_FILE))]
            source, line = _locate(course.root, sources, item.id, texts)
            d = _Doc("item", item.id, item.title, source, line)
            d.add(item.id.replace("-", " "), 3)
            d.add(item.title, 3)
            d.add(item.summary, 2)
            d.add(stage.title)
            if isinstance(item, Reading):
                d.add(item.book or "")
            if isinstance(item, Exercise):
                for res in item.resources:
                    d.add(f"{res.title} {res.note or ''}")
            d.snippet = item.summary
            docs.append(d)
            if isinstance(item, Exercise) and item.hints:
                h = _Doc("hints", item.id, item.title, source, line)
                for text in item.hints:
                    h.add(text)
                h.snippet = f"its hints mention this: 'retreat hint {item.id}' shows them one at a time"
                docs.append(h)
            if item.notes:
                notes_of.setdefault(item.notes, item.id)
    notes_root = course.root / "docs"
    pages = sorted({*(notes_root / n for n in notes_of), *(notes_root / "notes").rglob("*.md")})
    for page in pages:
        rel = page.relative_to(notes_root).as_posix()
        doc = _text_doc("course notes", notes_of.get(rel), page, f"docs/{rel}")
        if doc:
            docs.append(doc)
    items = {i.id: i for i in roadmap.items}
    journal = sorted(course.journal_dir.glob("*.md")) if course.journal_dir.is_dir() else []
    for page in journal:
        item = items.get(page.stem)
        # The template's questions are in every note: only the learner's own words count.
        boilerplate = {f"- {q}" for q in questions(item)} if item else set()
        doc = _text_doc("journal", item.id if item else None, page, display(course, page), boilerplate)
        if doc:
            docs.append(doc)
    return docs


def _text_doc(kind: str, item_id: str | None, path: Path, shown: str,
              skip: frozenset[str] | set[str] = frozenset()) -> _Doc | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    title = first_heading(text)
    title = path.stem if title is None else title
    lines = ["" if ln.strip() in skip else ln for ln in lines]
    d = _Doc(kind, item_id, title, shown, lines=lines)
    for ln in lines:
        d.add(ln, 2 if ln.startswith("#") else 1)
    return d


def _locate(root: Path, sources: list[str], item_id: str, texts: dict[str, list[str]]) -> tuple[str, int | None]:
    """The roadmap file and line that define an item (a stage may include several files)."""
    pattern = re.compile(rf"^\s*(?:-\s*)?(?:\{{\s*)?id:\s*['\"]?{re.escape(item_id)}['\"]?\s*(?:[,}}].*)?$")
    for rel in sources:
        if rel not in texts:
            try:
                texts[rel] = (root / rel).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                texts[rel] = []
        for n, line in enumerate(texts[rel], 1):
            if pattern.match(line):
                return rel, n
    return sources[0], None


def _snippet(d: _Doc, q: set[str], phrase: str) -> tuple[int | None, str]:
    """The line with the most query words (the first of them; the whole query as a phrase counts
    one more), trimmed around its first match."""
    if not d.lines:
        return d.line, d.snippet
    best, best_n = None, 0.0
    for n, line in enumerate(d.lines, 1):
        words = terms(line)
        hits = len(q & set(words)) + (0.5 if phrase and phrase in " ".join(words) else 0)
        if hits > best_n:
            best, best_n = n, hits
    if best is None:
        return None, ""
    text = " ".join(d.lines[best - 1].split()).lstrip("#>-* ")
    if len(text) > 110:
        first = min((m.start() for w in q for m in re.finditer(re.escape(w), text.lower())), default=0)
        start = max(0, first - 40)
        text = ("…" if start else "") + text[start:start + 105].strip() + "…"
    return best, text
