"""The learner's journal in the site: a "Journal" section beside the stages and their course notes.

- `journal/index.md`: the learner's notes in roadmap order, what their my-roadmap.yaml changes,
  and the text of their own journal/index.md (if any) at the top;
- `journal/<item id>.md`: each note, with a box that links back to its item; other Markdown
  files in the journal folder are published too, and so are the images and files beside them;
- each item page that has a note gets a box linking to it.

Nothing from a solution may reach the published site: a journal line that repeats a line of a
course exercise's reference solution (inside its `### TODO` blocks) is left out of the page and
reported as a warning, which fails a strict build (`retreat docs build`), naming the file and line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from retreat.course import Course
from retreat.files import page_title
from retreat.learner.journal import display
from retreat.roadmap import Item
from retreat.site.markup import attr, item_page, md_text, rel, stage_page, status_icon
from retreat.site.pages import Site
from retreat.site.source import normalised

log = logging.getLogger("mkdocs.plugins.retreat")

FOLDER = "journal"
INDEX = f"{FOLDER}/index.md"


class Journal:
    """The journal pages for one build."""

    def __init__(self, course: Course, site: Site) -> None:
        self.course, self.site = course, site
        self.folder = course.journal_dir
        ids = {i.id for i in site.roadmap.items}
        pages = sorted(self.folder.glob("*.md")) if self.folder.is_dir() else []
        self.notes = {p.stem: p for p in pages if p.stem in ids}
        self.others = [p for p in pages if p.stem not in ids and p.name != "index.md"]
        self.intro = self.folder / "index.md"
        self.forbidden = site.solution_lines

    def nav(self) -> list[dict]:
        """The Journal section: the index, then the notes in roadmap order, then other pages."""
        entries: list = [INDEX]
        entries += [{page_title(self.notes[i.id], i.title): self._src(i.id)}
                    for i in self.site.roadmap.items if i.id in self.notes]
        entries += [{page_title(p, p.stem): f"{FOLDER}/{p.name}"} for p in self.others]
        return [{"Journal": entries}]

    def _src(self, item_id: str) -> str:
        return f"{FOLDER}/{item_id}.md"

    def add_pages(self, rendered: dict[str, str], files, config) -> None:  # MkDocs Files, config
        """Put the journal pages into `rendered` (src -> Markdown), link each item page that has
        a note to it, and publish the other files of the journal folder (images...)."""
        from mkdocs.structure.files import File

        forbidden = self.forbidden
        rendered[INDEX] = self.index_page()
        for item in self.site.roadmap.items:
            if item.id in self.notes:
                text = self._read(self.notes[item.id])
                rendered[self._src(item.id)] = self._note_page(item, self._clean(text, self.notes[item.id], forbidden))
                page = item_page(self.site.stage_by_item[item.id], item)
                if page in rendered:
                    rendered[page] = _insert_after_header(rendered[page], self._item_box(item, page))
        for p in self.others:
            rendered[f"{FOLDER}/{p.name}"] = self._clean(self._read(p), p, forbidden)
        if self.folder.is_dir():
            for p in sorted(self.folder.rglob("*")):
                if p.is_file() and p.suffix != ".md" and not p.name.startswith("."):
                    src = f"{FOLDER}/{p.relative_to(self.folder).as_posix()}"
                    files.append(File.generated(config, src, abs_src_path=str(p)))

    # -- pages ---------------------------------------------------------------------------------
    def index_page(self) -> str:
        rm, src = self.site.roadmap, INDEX
        out = ["# Journal", ""]
        if self.intro.is_file():
            out += [self._clean(self._read(self.intro), self.intro, self.forbidden), ""]
        else:
            out += [f"My own notes, one page per item, written while following *{rm.course.title}*.", ""]
        if self.notes:
            out += [f"**{len(self.notes)} notes.** Each links to its item, and each item page links back.", ""]
            for stage in rm.stages:
                noted = [i for i in stage.items if i.id in self.notes]
                if not noted:
                    continue
                out += [f"## [{md_text(stage.title)}]({rel(src, stage_page(stage))})", ""]
                out += [f"- {status_icon(self.site.views[i.id])} "
                        f"[{md_text(page_title(self.notes[i.id], i.title))}]({rel(src, self._src(i.id))}) "
                        f"— on [{md_text(i.title)}]({rel(src, self.site.page_of(i.id))})" for i in noted]
                out.append("")
        else:
            out += ["*No notes yet.* `retreat note ID` starts one from a template (the item's links and "
                    "the questions worth answering) in `journal/ID.md`.", ""]
        if self.others:
            out += ["## Other pages", ""]
            out += [f"- [{md_text(page_title(p, p.stem))}]({p.name})" for p in self.others] + [""]
        out += self._overlay_section(src)
        return "\n".join(out) + "\n"

    def _overlay_section(self, src: str) -> list[str]:
        rm = self.site.roadmap
        if not rm.skipped and not rm.added:
            return []
        out = ["## My roadmap", "", "What my `my-roadmap.yaml` changes in the course's roadmap:", ""]
        if rm.added:
            out.append("- **Added:** " + ", ".join(self.site.link(src, i) for i in rm.added))
        if rm.skipped:
            out.append("- **Skipped:** " + ", ".join(self.site.link(src, i) for i in rm.skipped))
        out.append(f"- **Pace:** {rm.course.days} days of {rm.course.hours_per_day:g} hours "
                   f"([the plan]({rel(src, 'roadmap.md')}#plan))")
        return out + [""]

    def _note_page(self, item: Item, text: str) -> str:
        src = self._src(item.id)
        stage = self.site.stage_by_item[item.id]
        box = (f'!!! note "My notes on {attr(item.title)}"\n\n'
               f"    On the {item.kind} [{md_text(item.title)}]({rel(src, item_page(stage, item))}) in "
               f"*{stage.title}* · [all my notes]({rel(src, INDEX)})\n")
        if not any(line.startswith("# ") for line in text.splitlines()):
            text = f"# {item.title}\n\n{text}"
        return _insert_after_header(text, box)

    def _item_box(self, item: Item, page: str) -> str:
        return (f'!!! quote "My notes"\n\n'
                f"    I wrote [notes on this {item.kind}]"
                f"({rel(page, self._src(item.id))}) in my journal.\n")

    # -- reading and cleaning --------------------------------------------------------------------
    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning(f"retreat: cannot read {display(self.course, path)}: {exc}")
            return ""

    def _clean(self, text: str, path: Path, forbidden: dict[str, str]) -> str:
        """The note without any line of a course solution (each one removed is a warning)."""
        lines = text.splitlines()
        for n, line in enumerate(lines):
            item_id = forbidden.get(normalised(line))
            if item_id:
                log.warning(f"retreat: {display(self.course, path)}:{n + 1} repeats a line of the reference "
                            f"solution of {item_id}; it is left out of the site, which never shows solutions")
                indent = line[: len(line) - len(line.lstrip())]
                lines[n] = f"{indent}… (left out of the site: a line of the reference solution of {item_id})"
        return "\n".join(lines) + "\n"



def _insert_after_header(markdown: str, box: str) -> str:
    """`box` after the page's title (and the facts line under it, on a generated item page)."""
    lines = markdown.split("\n")
    at = next((n + 1 for n, line in enumerate(lines) if line.startswith("# ")), 0)
    if at < len(lines) - 2 and lines[at + 1].startswith('<div class="rt-facts"'):
        close = next((n + 1 for n in range(at + 1, len(lines)) if lines[n].startswith("</div>")), at)
        at = close
    lines[at:at] = ["", box]
    return "\n".join(lines)
