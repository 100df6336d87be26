"""`retreat add reading` and `retreat add exercise`: append an item to the roadmap file that holds
its stage (the included stage file when roadmap.yaml uses `include:`), or to the learner's
my-roadmap.yaml, keeping comments and layout (ruamel.yaml round trip). The roadmap is loaded again
afterwards; if it no longer loads, every file is put back and the error is one line."""

from __future__ import annotations

import io
import re
from pathlib import Path
from string import Template
from urllib.parse import unquote, urlparse

from retreat.course import Course
from retreat.errors import RetreatError, UsageProblem
from retreat.files import atomic_write
from retreat.markers import make_stub
from retreat.roadmap.load import ROADMAP_FILE, load_roadmap
from retreat.roadmap.overlay import OVERLAY_FILE

ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _yaml():
    from ruamel.yaml import YAML

    y = YAML()  # round trip: comments, order and quoting survive
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def title_from_url(url: str) -> str:
    """'https://example.org/blog/kv-caching_explained.html' -> 'Kv caching explained (example.org)'."""
    parts = urlparse(url)
    host = parts.netloc.removeprefix("www.")
    last = [p for p in unquote(parts.path).split("/") if p]
    name = re.sub(r"\.(html?|pdf|md|php)$", "", last[-1]) if last else ""
    words = " ".join(re.findall(r"[A-Za-z0-9.]+", name.replace("_", " ").replace("-", " ")))
    if not words:
        return host or url
    return f"{words[:1].upper()}{words[1:]} ({host})" if host else words


def _unique(base: str, taken: set[str]) -> str:
    base = base[:48].strip("-") or "item"
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


class _Edit:
    """Files changed by one `add`: written together, put back together if the roadmap breaks."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self.saved: dict[Path, bytes | None] = {}

    def write(self, path: Path, text: str) -> None:
        if path not in self.saved:
            self.saved[path] = path.read_bytes() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)

    def dump(self, path: Path, data) -> None:
        out = io.StringIO()
        _yaml().dump(data, out)
        self.write(path, out.getvalue())

    def commit(self, mine: bool) -> None:
        """Load the roadmap again from the files; on any problem, undo every write."""
        try:
            load_roadmap(self.course.root, cache_dir=None, overlay=OVERLAY_FILE if mine else None)
        except RetreatError as exc:
            for path, old in self.saved.items():
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(old)
            raise UsageProblem(f"not added, the roadmap would not load: {exc}") from None


def _stage_target(course: Course, stage: str | None) -> tuple[dict, Path, object, list]:
    """(the stage's entry, the file its items live in, that file's data, its items list)."""
    y = _yaml()
    root_file = course.root / ROADMAP_FILE
    data = y.load(root_file.read_text(encoding="utf-8"))
    stages = data.get("stages") or []
    if not stages:
        raise UsageProblem(f"{ROADMAP_FILE} has no stage to add to")
    ids = [s.get("id") for s in stages]
    if stage is None:
        entry = stages[-1]
    elif stage in ids:
        entry = stages[ids.index(stage)]
    else:
        raise UsageProblem(f"no stage {stage!r} (stages: {', '.join(map(str, ids))})")
    if "include" in entry:
        includes = entry["include"] if isinstance(entry["include"], list) else [entry["include"]]
        # The first included file holds the stage's main items (quizzes often sit in a later one).
        path = course.root / includes[0]
        sdata = y.load(path.read_text(encoding="utf-8"))
        if sdata.get("items") is None:
            sdata["items"] = []
        return entry, path, sdata, sdata["items"]
    if entry.get("items") is None:
        entry["items"] = []
    return entry, root_file, data, entry["items"]


def _use_mine(course: Course, mine: bool | None) -> bool:
    """--mine / --course when given; otherwise a learner's file is the target once it exists."""
    return (course.root / OVERLAY_FILE).is_file() if mine is None else mine


def _mine_target(course: Course, stage: str | None) -> tuple[Path, object, list, str]:
    from ruamel.yaml.comments import CommentedMap

    path = course.root / OVERLAY_FILE
    stage_ids = [s.id for s in course.roadmap.stages]
    stage = stage or stage_ids[-1]
    if stage not in stage_ids:
        raise UsageProblem(f"no stage {stage!r} (stages: {', '.join(stage_ids)})")
    if path.is_file():
        data = _yaml().load(path.read_text(encoding="utf-8")) or CommentedMap()
    else:
        data = CommentedMap(format_version=1)
    if data.get("add") is None:
        data["add"] = CommentedMap()
    if data["add"].get(stage) is None:
        data["add"][stage] = []
    return path, data, data["add"][stage], stage


def _flow(values: list[str]):
    """A list written [a, b] on one line, as the course's files do."""
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _taken(course: Course) -> set[str]:
    return {i.id for s in course.roadmap.stages for i in s.items}


def add_reading(course: Course, url: str, *, title: str | None = None, item_id: str | None = None,
                stage: str | None = None, requires: list[str] | None = None, minutes: int | None = None,
                day: int | None = None, mine: bool | None = None) -> tuple[str, str]:
    """Append a reading; return (the file written, the new item's id)."""
    from ruamel.yaml.comments import CommentedMap

    if not re.match(r"^[a-z][a-z0-9+.-]*://", url):
        raise UsageProblem(f"{url!r} is not a URL (expected https://...)")
    title = title or title_from_url(url)
    taken = _taken(course)
    if item_id is not None and (not ID_PATTERN.match(item_id) or item_id in taken):
        raise UsageProblem(f"--id {item_id!r}: " + ("already used" if item_id in taken else
                                                     "use lower-case words joined by '-', e.g. kv-cache-post"))
    new_id = item_id or _unique(slug(re.sub(r"\(.*?\)", "", title)) or slug(title), taken)
    item = CommentedMap(id=new_id, kind="reading", title=title, url=url)
    if requires:
        item["requires"] = _flow(requires)
    if minutes is not None:
        item["minutes"] = minutes
    if day is not None:
        item["day"] = day
    edit = _Edit(course)
    use_mine = _use_mine(course, mine)
    if use_mine:
        path, data, items, _ = _mine_target(course, stage)
    else:
        _, path, data, items = _stage_target(course, stage)
    items.append(item)
    edit.dump(path, data)
    edit.commit(use_mine)
    return str(path.relative_to(course.root)), new_id


def add_exercise(course: Course, item_id: str, *, title: str | None = None,
                 stage: str | None = None) -> tuple[str, list[str]]:
    """Write an exercise's files from the templates and append its item; return (roadmap file, files)."""
    from ruamel.yaml.comments import CommentedMap

    from retreat.authoring.new import template

    if not ID_PATTERN.match(item_id):
        raise UsageProblem(f"{item_id!r}: an id is lower-case words joined by '-', e.g. char-histogram")
    if item_id in _taken(course):
        raise UsageProblem(f"{item_id!r} is already an item of this course")
    title = title or item_id.replace("-", " ").capitalize()
    entry, path, data, items = _stage_target(course, stage)
    stage_dir, stage_id = str(entry["dir"]), str(entry["id"])
    existing = list((course.root / "solutions" / stage_dir).glob("[0-9][0-9]_*.py"))
    number = max((int(p.name[:2]) for p in existing), default=0) + 1
    name = f"{number:02d}_{item_id.replace('-', '_')}"
    files = {
        f"solutions/{stage_dir}/{name}.py": "ex_solution.py",
        f"solutions/{stage_dir}/{name}.mutants.yaml": "ex_mutants.yaml",
        f"tests/{stage_dir}/test_{item_id.replace('-', '_')}.py": "ex_test.py",
        f"docs/notes/{stage_id}/{item_id}.md": "ex_notes.md",
    }
    for rel in files:
        if (course.root / rel).exists():
            raise UsageProblem(f"{rel} already exists: pick another id")
    edit = _Edit(course)
    values = {"item_id": item_id, "title": title}
    for rel, tmpl in files.items():
        edit.write(course.root / rel, Template(template(tmpl)).safe_substitute(values))
    solution = f"solutions/{stage_dir}/{name}.py"
    exercise = f"exercises/{stage_dir}/{name}.py"
    edit.write(course.root / exercise, make_stub((course.root / solution).read_text(encoding="utf-8"), solution))
    last = items[-1] if len(items) else None
    item = CommentedMap(id=item_id, title=title, summary=f"CHANGE ME: what the learner builds in {title}.",
                        exercise=exercise, solution=solution,
                        tests=f"tests/{stage_dir}/test_{item_id.replace('-', '_')}.py",
                        notes=f"notes/{stage_id}/{item_id}.md")
    if last is not None and last.get("kind", "exercise") == "exercise":
        item["requires"] = _flow([str(last["id"])])
    item["hints"] = ["CHANGE ME: a nudge towards the idea.", "CHANGE ME: the step that unblocks."]
    items.append(item)
    edit.dump(path, data)
    edit.commit(mine=False)
    return str(path.relative_to(course.root)), [exercise, *files]
