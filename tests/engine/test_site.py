"""The notes site: built with the real mkdocs.yml and hooks on the site fixture course."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

import click
import pytest
from engine_helpers import isolate
from site_helpers import dead_links, make_site_course

from retreat.course import Course
from retreat.errors import RetreatError
from retreat.learner.progress import DB_NAME, Progress
from retreat.site.cli_ref import cli_page
from retreat.site.commands import build_site

ITEMS = {"basics": ["intro-video", "dot-product", "norms"],
         "building": ["projection-paper", "projection", "extra-credit"]}


@pytest.fixture
def course(tmp_path: Path) -> Course:
    return Course(make_site_course(tmp_path / "course"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture course built once (strict, no progress) for the tests that only read it."""
    tmp = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp / "state")
        return build_site(Course(make_site_course(tmp / "course")), strict=True, site_dir=tmp / "site")


def _page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<h2", start)
    return html[start:end if end > 0 else None]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_strict_build_has_a_page_per_item_and_no_dead_links(site: Path) -> None:
    for stage, items in ITEMS.items():
        assert (site / stage / "index.html").is_file(), f"stage {stage} has an overview page"
        for item in items:
            assert (site / stage / item / "index.html").is_file(), f"item {item} has a page"
    for page in ("roadmap", "progress", "cli", "guide/getting-started", "guide/authoring",
                 "notes/basics/dot-product", "notes/building/orthogonality"):
        assert (site / page / "index.html").is_file(), f"{page} is built"
    assert dead_links(site) == [], "every relative link and anchor in the built site resolves"
    assert not (site / "figures" / "src").exists()


def test_exercise_page(site: Path) -> None:
    html = _page(site, "basics/dot-product")
    text = _text(html)
    assert "Write dot(a, b)" in text or "Write <code>dot(a, b)</code>" in html, "the task is the docstring"
    names = unescape(re.sub(r"<[^>]+>", "", _section(html, "what-you-write")))
    assert "def dot(a: list[float], b: list[float]) -> float:" in names
    assert "class Vector" in names and "def dot(self, other: 'Vector') -> float" in names
    assert "_private" not in names and "_helper" not in names, "public names only"
    assert text.count("Hint 1 of 2") == 1 and "Hint 2 of 2" in text
    assert re.search(r"<details class=\"tip\">\s*<summary>Hint 1 of 2", html), "hints are collapsed"
    assert 'href="../../notes/basics/dot-product/"' in html, "links to its notes page"
    assert "exercises/0_basics/01_dot_product.py" in text, "names the file to edit"
    assert "retreat check dot-product" in text
    assert "matches a hand computed value" in text and "Vector: method agrees with function" in text
    assert "numpy.dot" in text, "forbidden calls are listed"
    assert 'href="https://example.org/dot"' in html and "Linear algebra notes, ch. 1" in text
    assert 'href="../intro-video/"' in html, "prerequisites link to their pages"
    assert 'href="../norms/"' in html, "what it unlocks is linked"
    # the stub, never the solution: the solution's lines sit between ### TODO and ### END
    proj = _text(_page(site, "building/projection"))
    assert "raise NotImplementedError" in proj and "k = sum" not in proj
    assert 'href="../../basics/norms/"' in _page(site, "building/projection"), "cross-stage link"


def test_item_without_notes_page_still_builds(course: Course, site: Path) -> None:
    assert course.roadmap.get("norms").notes is None
    html = _page(site, "basics/norms")
    assert "notes/basics/norms" not in html, "no link to a notes page that does not exist"
    assert "Norms | lengths" in _text(html) or "Norms \\| lengths" not in _text(html)


def test_roadmap_page(site: Path) -> None:
    html = _page(site, "roadmap")
    text = _text(html)
    assert 'class="rt-map"' in html and 'rt-box' in html, "the exercises are a map of linked boxes"
    assert "after 1" in _text(html), "a box names the exercise it builds on"
    assert "Suggested 4-day plan" in text, "the plan has the course's length"
    for stage, items in ITEMS.items():
        for item in items:
            assert f'href="../{stage}/{item}/"' in html, f"the roadmap links {item}"
    assert "2 stages · 4 exercises · 2 readings" in text
    assert "3 h 10" in text, "estimated time of the required items (15+30+45+40+60 min)"


def test_notes_page_links_back_to_its_exercise(site: Path) -> None:
    html = _page(site, "notes/basics/dot-product")
    assert 'href="../../../basics/dot-product/"' in html and "retreat check dot-product" in _text(html)
    assert 'class="arithmatex"' in html, "math is marked for MathJax"


def test_marking_an_exercise_passed_changes_the_progress_page(course: Course, tmp_path: Path) -> None:
    site = build_site(course, site_dir=tmp_path / "site")
    before = _text(_page(site, "progress"))
    assert "Nothing recorded yet" in before and "0 / 5" in before
    assert not (course.state_dir / DB_NAME).exists(), "building never creates the learner's state"

    p = Progress(course.state_dir)
    now = time.time()
    p.record_attempt("dot-product", started=now - 300, duration=1.5, passed=1, total=3, ok=False,
                     file_hash=None, outcome="failed")
    p.record_attempt("dot-product", started=now - 60, duration=2.0, passed=3, total=3, ok=True,
                     file_hash=None, outcome="passed")
    p.set_status("intro-video", "done")
    p.close()

    site = build_site(course, site_dir=tmp_path / "site")
    html = _page(site, "progress")
    after = _text(html)
    assert after != before
    assert "Nothing recorded yet" not in after
    assert "2 / 5" in after, "two of the five required items are complete"
    assert "12 / 44" in after, "points earned: 10 for the exercise, 2 for the reading"
    row = re.search(r"The dot product</a></td>\s*<td>.*?passed</td>\s*<td[^>]*>2</td>\s*<td[^>]*>3 / 3</td>", html)
    assert row, "the passed exercise shows its status, its two attempts and its best run"
    assert 'class="rt-actual"' in html, "the chart has the learner's line against the plan"
    # the roadmap marks it too
    assert "title=\"passed\"" in _page(site, "roadmap") or "passed" in _page(site, "roadmap")


def test_unknown_marker_fails_the_build(course: Course, tmp_path: Path) -> None:
    index = course.root / "docs" / "index.md"
    index.write_text(index.read_text() + "\n<!-- retreat:no-such-thing -->\n")
    with pytest.raises(RetreatError, match="unknown marker 'retreat:no-such-thing'") as err:
        build_site(course, site_dir=tmp_path / "site")
    assert "\n" not in str(err.value)


def test_markers_in_code_stay_literal(course: Course, tmp_path: Path) -> None:
    page = course.root / "docs" / "notes" / "building" / "orthogonality.md"
    page.write_text("```bash\n# not a title\n<!-- retreat:title -->\n```\n\n"
                    "# Orthogonality\n\nWrite `<!-- retreat:stats -->` or <!-- retreat:title -->.\n")
    html = _page(build_site(course, site_dir=tmp_path / "site"), "notes/building/orthogonality")
    assert "# not a title\n<!-- retreat:title -->" in unescape(re.sub(r"<[^>]+>", "", html)), \
        "a marker in a fenced block is left alone"
    assert "<code>&lt;!-- retreat:stats --&gt;</code>" in html, "a marker in inline code is left alone"
    assert "or Vectors by hand." in _text(html), "a marker in prose is replaced"


def test_dead_link_fails_strict_build_with_one_line(course: Course, tmp_path: Path) -> None:
    notes = course.root / "docs" / "notes" / "building" / "projection.md"
    notes.write_text(notes.read_text() + "\nSee [nowhere](missing.md).\n")
    with pytest.raises(RetreatError, match="missing.md") as err:
        build_site(course, site_dir=tmp_path / "site")
    assert "\n" not in str(err.value)
    assert build_site(course, strict=False, site_dir=tmp_path / "site").is_dir(), "--no-strict builds"


def test_handwritten_page_may_not_shadow_a_generated_one(course: Course, tmp_path: Path) -> None:
    (course.root / "docs" / "roadmap.md").write_text("# mine\n")
    with pytest.raises(RetreatError, match="docs/roadmap.md exists"):
        build_site(course, site_dir=tmp_path / "site")


def test_roadmap_error_is_one_line(course: Course, tmp_path: Path) -> None:
    rm = course.root / "roadmap.yaml"
    rm.write_text(rm.read_text().replace("requires: [dot-product]", "requires: [dot-prodcut]"))
    with pytest.raises(RetreatError, match="dot-prodcut") as err:
        build_site(course, site_dir=tmp_path / "site")
    assert "\n" not in str(err.value)


def test_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "roadmap.yaml").write_text("format_version: 1\n")
    with pytest.raises(RetreatError, match="no mkdocs.yml"):
        build_site(Course(tmp_path))


def test_unparsable_solution_does_not_break_the_build(course: Course, tmp_path: Path) -> None:
    (course.root / "solutions" / "0_basics" / "02_norms.py").write_text("def l2(:\n")
    site = build_site(course, site_dir=tmp_path / "site")
    assert "Norms" in _page(site, "basics/norms")


# -- the CLI reference --------------------------------------------------------------------------
@click.group()
def _tool() -> None:
    """A tool with nested commands."""


@_tool.command()
@click.option("--loud", is_flag=True, help="Shout the greeting.")
def hello(loud: bool) -> None:
    """Say hello."""


@_tool.group()
def db() -> None:
    """Database commands."""


@db.command("migrate")
@click.argument("target")
def migrate(target: str) -> None:
    """Migrate to TARGET."""


@db.command("secret", hidden=True)
def secret() -> None:
    """Not for users."""


def test_cli_reference_renders_every_command_help() -> None:
    page = cli_page(_tool, "tool")
    for path in ("tool", "tool hello", "tool db", "tool db migrate"):
        assert f"`{path}`" in page
    assert "Usage: tool db migrate [OPTIONS] TARGET" in page
    assert "--loud" in page and "Shout the greeting." in page
    assert "Migrate to TARGET." in page
    assert "secret" not in page, "hidden commands stay hidden"
    assert "[`tool db migrate`](#tool-db-migrate)" in page


def test_cli_reference_of_the_real_cli() -> None:
    cli = pytest.importorskip("retreat.cli")
    page = cli_page(cli.main, "retreat")
    from retreat.site.cli_ref import walk

    paths = [ctx.command_path for ctx, _ in walk(cli.main, "retreat")]
    assert "retreat docs build" in paths
    for path in paths:
        assert f"Usage: {path}" in page, f"{path} --help is on the page"
