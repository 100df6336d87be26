"""MkDocs hooks (`hooks:` in mkdocs.yml): render the pages that come from the course data.

- on_config: load the roadmap from the course at the mkdocs.yml location (the same loader and
  objects `retreat list` uses) and the learner's state; splice one nav section per stage where
  the nav says `retreat:stages`.
- on_files: add the generated pages as virtual files (nothing is written into docs/):
  roadmap.md, progress.md, cli.md, <stage id>/index.md and <stage id>/<item id>.md.
- on_serve: watch the files the roadmap includes and the learner's progress, so
  `retreat docs serve` follows the course and the learner.
- on_page_markdown: replace `<!-- retreat:NAME -->` markers in hand-written pages (an unknown
  marker fails the build) and put a "practise it" box under the title of each item's notes page.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

try:  # MkDocs loads this file by path: make `retreat` importable from a checkout not pip-installed
    import retreat  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from retreat.course import Course  # noqa: E402
from retreat.errors import RetreatError  # noqa: E402
from retreat.site import journal, live, markup  # noqa: E402
from retreat.site.markup import cell, minutes_text, rel, stage_page  # noqa: E402
from retreat.site.pages import Site  # noqa: E402
from retreat.site.progress_page import progress_page, read_state  # noqa: E402

log = logging.getLogger("mkdocs.plugins.retreat")

NAV_PLACEHOLDER = "retreat:stages"
MARKER = re.compile(r"<!--\s*retreat:([\w-]+)\s*-->")

_site: Site | None = None
_learner = None
_state_dir: Path | None = None
_journal: journal.Journal | None = None


def course_root(config) -> Path:  # MkDocsConfig
    """The course is the folder that holds mkdocs.yml."""
    return Path(config.config_file_path).resolve().parent


def on_config(config):  # MkDocs hook signature
    global _site, _learner, _state_dir, _journal
    root = course_root(config)
    course = Course(root)
    try:
        roadmap = course.roadmap
    except RetreatError as exc:
        raise PluginError(f"retreat: {exc}") from None
    _state_dir = course.state_dir
    live.mark_read(_state_dir)
    _learner = read_state(_state_dir)
    _site = Site(roadmap, root, Path(config.docs_dir), _learner.states)
    _journal = journal.Journal(course, _site)
    config.site_name = roadmap.course.title  # the header and the page titles follow the course
    if roadmap.course.description:
        config.site_description = roadmap.course.description
    if config.nav is not None:
        config.nav = _splice_nav(config.nav, _site.nav() + _journal.nav())
    return config


def _splice_nav(nav: list, stages: list) -> list:
    out = []
    for entry in nav:
        if entry == NAV_PLACEHOLDER or (isinstance(entry, dict) and list(entry.values()) == [NAV_PLACEHOLDER]):
            out.extend(stages)
        else:
            out.append(entry)
    return out


def on_files(files: Files, config):
    site = _require_site()
    rendered = {
        markup.ROADMAP_PAGE: site.roadmap_page(),
        markup.PROGRESS_PAGE: progress_page(site, _learner),
        markup.CLI_PAGE: _cli_page(),
    }
    for stage in site.roadmap.stages:
        rendered[markup.stage_page(stage)] = site.stage_overview(stage)
        for item in stage.items:
            rendered[markup.item_page(stage, item)] = site.item_page(stage, item)
    _journal.add_pages(rendered, files, config)  # the learner's notes, and a link from each item page
    for src, content in rendered.items():
        if files.get_file_from_path(src) is not None:
            raise PluginError(f"retreat: docs/{src} exists, but the site generates that page from the "
                              "roadmap; rename or remove the file")
        files.append(File.generated(config, src, content=content))
    return files


def on_serve(server, config, builder):
    """Also watch the stage files roadmap.yaml includes, the solutions and tests the item pages
    are drawn from (not exercises/: the learner's own edits do not change the site), and the
    learner's progress, so the progress page follows `retreat check` while the server runs."""
    site = _require_site()
    folders = {(site.root / f).parent for f in site.roadmap.files}
    for ex in site.roadmap.exercises:
        folders |= {(site.root / ex.solution).parent, (site.root / ex.tests).parent}
    for folder in sorted(folders):
        if folder.is_dir():
            server.watch(str(folder), recursive=False)
    live.watch_state(server, _state_dir)
    if _journal is not None and _journal.folder.is_dir():  # the learner's notes
        server.watch(str(_journal.folder), recursive=False)
    return server


def _cli_page() -> str:
    from retreat.site.cli_ref import cli_page, load_main

    try:
        main = load_main()
    except ModuleNotFoundError as exc:
        if exc.name not in ("retreat.cli", "retreat"):
            raise
        log.info("retreat: no retreat.cli yet, so the CLI reference is a placeholder")
        return "# Command-line reference\n\nThe command line is not installed in this checkout.\n"
    return cli_page(main, "retreat")


def on_page_markdown(markdown: str, page, config, files):
    site = _require_site()
    src = page.file.src_uri

    def replace(m: re.Match) -> str:
        name = m.group(1)
        render = MARKERS.get(name)
        if render is None:
            raise PluginError(f"retreat: {src}: unknown marker 'retreat:{name}' "
                              f"(known: {', '.join(sorted(MARKERS))})")
        return render(site, src)

    markdown = _sub_outside_code(MARKER, replace, markdown)
    banner = site.notes_banner(src) if src.startswith("notes/") else None
    if banner:
        lines = markdown.split("\n")
        at = next((n + 1 for n, line in _prose_lines(lines) if line.startswith("# ")), 0)
        lines[at:at] = ["", banner]
        markdown = "\n".join(lines)
    return markdown


FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+).+?\1")


def _prose_lines(lines: list[str]):  # yields (index, line)
    """The lines outside fenced code blocks: a marker or heading in an example stays as it is."""
    fence = None
    for n, line in enumerate(lines):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield n, line


def _sub_outside_code(pattern: re.Pattern, repl, markdown: str) -> str:
    """pattern.sub(repl, ...) on the prose only: not in fenced blocks nor in `inline code`."""
    lines = markdown.split("\n")
    for n, line in list(_prose_lines(lines)):
        pieces, last = [], 0
        for code in INLINE_CODE.finditer(line):
            pieces += [pattern.sub(repl, line[last:code.start()]), code.group(0)]
            last = code.end()
        pieces.append(pattern.sub(repl, line[last:]))
        lines[n] = "".join(pieces)
    return "\n".join(lines)


def _require_site() -> Site:
    if _site is None:
        raise PluginError("retreat: the site hooks ran before on_config")
    return _site


# -- markers for hand-written pages -------------------------------------------------------------
def _m_course(site: Site, src: str) -> str:
    return site.roadmap.course.description


def _m_stages(site: Site, src: str) -> str:
    out = ["| | Stage | What you do | Time |", "| ---: | --- | --- | ---: |"]
    for n, stage in enumerate(site.roadmap.stages):
        mins = sum(i.minutes for i in stage.items if not i.optional)
        out.append(f"| {n} | [{cell(stage.title)}]({rel(src, stage_page(stage))}) | {cell(stage.summary)} "
                   f"| {minutes_text(mins)} |")
    return "\n".join(out)


def _m_stats(site: Site, src: str) -> str:
    rm = site.roadmap
    counted = [i for i in rm.items if not i.optional]
    quizzes = sum(i.kind == "quiz" for i in rm.items)
    return (f"{len(rm.stages)} stages, {len(rm.exercises)} graded exercises"
            + (f", {quizzes} quizzes" if quizzes else "") + " and "
            f"{len(rm.items) - len(rm.exercises) - quizzes} readings, about "
            f"{minutes_text(sum(i.minutes for i in counted))} of work planned over "
            f"{rm.course.days} days of {rm.course.hours_per_day:g} hours")


def _m_first_item(site: Site, src: str) -> str:
    if not site.roadmap.items:
        return "the first item of the roadmap"
    return site.link(src, site.roadmap.items[0].id)


def _m_title(site: Site, src: str) -> str:
    return site.roadmap.course.title


MARKERS = {"course": _m_course, "title": _m_title, "stages": _m_stages, "stats": _m_stats,
           "first-item": _m_first_item}
