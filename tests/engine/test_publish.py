"""The published site: the learner's journal, overlay and progress are in it; no solution is."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from engine_helpers import isolate
from site_helpers import dead_links, make_site_course

from retreat.course import Course
from retreat.errors import RetreatError
from retreat.learner.progress import Progress
from retreat.site.commands import build_site

NOTES = {
    "dot-product": "# Dot products, my way\n\nMultiply matching entries and add: a *sum of products*.\n",
    "norms": "Norms are lengths; the L2 norm is the quokka of norms.\n\n![my sketch](sketch.svg)\n",
    "projection": "# Projections\n\nThe shadow of b on a.\n",
}
OVERLAY = """\
format_version: 1
pace: {days: 3, hours_per_day: 2}
skip: [intro-video]
add:
  basics:
    - id: my-reading
      kind: reading
      title: A blog post on inner products
      url: https://example.org/inner
      requires: [dot-product]
"""
SKETCH = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'
LEARNER_LINE = "return float(sum(map(lambda p: p[0] * p[1], zip(a, b))))  # learner's own"


def _personalise(root: Path) -> None:
    journal = root / "journal"
    journal.mkdir()
    for item_id, text in NOTES.items():
        (journal / f"{item_id}.md").write_text(text)
    (journal / "sketch.svg").write_text(SKETCH)
    (journal / "questions.md").write_text("# Open questions\n\nWhy is the dot product bilinear?\n")
    (root / "my-roadmap.yaml").write_text(OVERLAY)
    stub = root / "exercises" / "0_basics" / "01_dot_product.py"  # the learner solved it their way
    stub.write_text(stub.read_text().replace("raise NotImplementedError", LEARNER_LINE, 1))


def solution_blocks(root: Path) -> dict[str, list[str]]:
    """Every course exercise's TODO blocks, as whitespace-normalised lines, keyed by solution file."""
    out: dict[str, list[str]] = {}
    for path in sorted((root / "solutions").rglob("*.py")):
        lines, inside = [], False
        for line in path.read_text().splitlines():
            if re.match(r"\s*### TODO:", line):
                inside = True
            elif re.match(r"\s*### END\s*$", line):
                inside = False
            elif inside and not re.match(r"\s*###", line) and line.strip():
                lines.append(" ".join(line.split()))
        out[path.relative_to(root).as_posix()] = lines
    return out


def site_text(site: Path) -> dict[str, str]:
    """The text of every built file a reader can see: HTML without tags, the search index decoded."""
    out = {}
    for path in site.rglob("*"):
        if path.suffix in (".html", ".xml", ".txt", ".md"):
            html = path.read_text(encoding="utf-8")
            out[str(path.relative_to(site))] = " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())
        elif path.name == "search_index.json":
            docs = json.loads(path.read_text(encoding="utf-8"))["docs"]
            text = " ".join(d.get("title", "") + " " + d.get("text", "") for d in docs)
            out[str(path.relative_to(site))] = " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split())
    return out


def leaks(root: Path, site: Path) -> list[str]:
    texts = site_text(site)
    found = []
    for sol, lines in solution_blocks(root).items():
        for line in lines:
            found += [f"{page}: {line!r} (from {sol})" for page, text in texts.items() if line in text]
    return found


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp / "state")
        root = make_site_course(tmp / "course")
        _personalise(root)
        course = Course(root)
        Progress(course.state_dir).set_status("dot-product", "passed")
        return root, build_site(course, strict=True, site_dir=tmp / "site")


def _page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def _article(html: str) -> str:
    """The page's own content (no navigation), icons left out."""
    body = re.search(r"<article.*?</article>", html, re.S).group(0)
    return re.sub(r"<svg.*?</svg>", "", body, flags=re.S)


def test_the_journal_is_a_section_of_the_site(published: tuple[Path, Path]) -> None:
    _, site = published
    index = _page(site, "journal")
    for item_id in NOTES:
        assert (site / "journal" / item_id / "index.html").is_file(), f"the note on {item_id} is published"
        assert f'href="{item_id}/"' in index, f"the journal index links to the note on {item_id}"
    assert "Dot products, my way" in index and "Open questions" in index
    assert (site / "journal" / "questions" / "index.html").is_file(), "other journal pages are published"
    assert (site / "journal" / "sketch.svg").read_text() == SKETCH, "so are the files beside the notes"
    home = _page(site, "")
    assert re.search(r'href="journal/"[^>]*>\s*Journal', home), "a Journal tab beside the stages"
    assert dead_links(site) == [], "every link in the published site resolves"


def test_each_note_links_to_its_item_and_back(published: tuple[Path, Path]) -> None:
    _, site = published
    note = _page(site, "journal/norms")
    assert 'href="../../basics/norms/"' in note, "the note links to its item"
    assert "the quokka of norms" in note and 'src="../sketch.svg"' in note
    assert "<h1" in note and "Norms | lengths" in note, "a note without a title gets the item's"
    item = _page(site, "basics/norms")
    assert 'href="../../journal/norms/"' in item, "the item page links to the note"
    assert "journal/" not in _article(_page(site, "building/extra-credit")), "no link where there is no note"


def test_the_overlay_and_progress_are_published(published: tuple[Path, Path]) -> None:
    _, site = published
    reading = _page(site, "basics/my-reading")
    assert "A blog post on inner products" in reading and "https://example.org/inner" in reading
    roadmap = _article(_page(site, "roadmap"))
    assert 'href="../basics/my-reading/"' in roadmap, "the learner's reading is on the roadmap"
    assert re.search(r"title=\"skipped\".{0,400}Vectors, what even are they", roadmap, re.S), \
        "the item the overlay skips is shown as skipped"
    assert "2 hours of study a day" in roadmap, "the plan follows the learner's pace"
    index = _page(site, "journal")
    assert "My roadmap" in index and "A blog post on inner products" in index
    progress = _page(site, "progress")
    assert "The dot product" in progress and "passed" in progress


def test_no_solution_in_the_published_site(published: tuple[Path, Path]) -> None:
    root, site = published
    blocks = solution_blocks(root)
    assert sum(len(lines) for lines in blocks.values()) >= 5, "the scan has solution lines to look for"
    assert leaks(root, site) == [], "the site shows no line of any solution's TODO blocks"
    texts = site_text(site)
    assert not any(LEARNER_LINE.split("  #")[0] in t for t in texts.values()), "nor the learner's own file"


def test_the_scan_would_see_a_solution(published: tuple[Path, Path], tmp_path: Path) -> None:
    """The scan is not blind: a solution line planted in a copy of the site is reported."""
    root, site = published
    line = next(lines[0] for lines in solution_blocks(root).values() if lines)
    planted = tmp_path / "site"
    (planted / "journal").mkdir(parents=True)
    (planted / "journal" / "index.html").write_text(f"<pre><code><span>{line}</span></code></pre>")
    assert leaks(root, planted), "a planted solution line is found"


def test_a_pasted_solution_line_is_left_out_and_fails_a_strict_build(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETREAT_HOME", str(tmp_path / "state"))
    root = make_site_course(tmp_path / "course")
    (root / "journal").mkdir()
    line = "return sum(x * x for x in a) ** 0.5"
    (root / "journal" / "norms.md").write_text(f"# Norms\n\nMy solution:\n\n```python\n{line}\n```\n")
    with pytest.raises(RetreatError, match=r"journal/norms\.md:6 repeats a line of the reference solution of norms"):
        build_site(Course(root), strict=True, site_dir=tmp_path / "strict")
    site = build_site(Course(root), strict=False, site_dir=tmp_path / "site")
    note = " ".join(re.sub(r"<[^>]+>", "", _article(_page(site, "journal/norms"))).split())
    assert "left out of the site: a line of the reference solution of norms" in note and "My solution" in note
    assert leaks(root, site) == []


def test_the_course_site_reveals_no_solution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped course, built as a learner would publish it: no substantial solution line shows,
    hints that quote the answer included (those stay in the terminal)."""
    monkeypatch.setenv("RETREAT_HOME", str(tmp_path / "state"))
    root = Path(__file__).resolve().parents[2]
    site = build_site(Course(root, personal=False), strict=False, site_dir=tmp_path / "site")
    texts = site_text(site)
    # The stubs are published on purpose (the learner starts from them): what they show is not an answer.
    public = " ".join(" ".join(p.read_text().split()) for p in (root / "exercises").rglob("*.py"))
    found = []
    for sol, lines in solution_blocks(root).items():
        for line in lines:
            if len(line) < 16 or line.startswith(("#", '"', "'")) or line in public:
                continue  # 'return out' is in every page of code; it gives nothing away
            found += [f"{page}: {line!r} (from {sol})" for page, text in texts.items() if line in text]
    assert found == [], "\n".join(found[:20])
