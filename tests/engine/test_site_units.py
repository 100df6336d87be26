"""The site's pure parts, without MkDocs: graphs, the plan curve, the chart, names of checks."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from site_helpers import FIXTURE

from retreat.course import Course
from retreat.learner.progress import ItemState
from retreat.site.graphs import _direct, exercise_ancestors, exercise_graph, stage_graph
from retreat.site.markup import md_text, minutes_text, rel
from retreat.site.pages import Site
from retreat.site.progress_page import LearnerState, actual_curve, chart_svg, plan_curve
from retreat.site.source import check_title, exercise_source


def _site(states: dict[str, ItemState] | None = None) -> Site:
    course = Course(FIXTURE)
    return Site(course.roadmap, FIXTURE, FIXTURE / "docs", states or {})


def test_transitive_reduction_drops_implied_arrows() -> None:
    needs = {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"c", "a"}}
    assert _direct("c", needs) == ["b"]
    assert _direct("d", needs) == ["c"]
    assert _direct("a", needs) == []


def test_exercise_graph_looks_through_readings() -> None:
    site = _site()
    rm = site.roadmap
    assert exercise_ancestors(rm, rm.get("projection")) == ["norms"]
    graph = exercise_graph(site)
    assert graph.startswith("```mermaid") and graph.count("-->") == 3, "dot -> norms -> projection -> extra"
    assert "The dot product" in graph and "1 reading" in graph


def test_stage_graph_marks_states_and_outside_prerequisites() -> None:
    site = _site({"intro-video": ItemState("intro-video", status="done")})
    basics, building = site.roadmap.stages
    g = stage_graph(site, basics.items)
    assert ":::done" in g and ":::open" in g and ":::locked" in g
    g2 = stage_graph(site, building.items)
    assert ":::outside" in g2 and "Norms \\| lengths" not in g2 and "Norms | lengths" in g2
    assert "-.->" in g2, "an optional item's arrow is dotted"


def test_nav_has_one_section_per_stage_with_its_notes() -> None:
    nav = _site().nav()
    assert [list(n)[0] for n in nav] == ["Basics", "Building on it"]
    building = nav[1]["Building on it"]
    assert building[0] == "building/index.md"
    assert building[2] == {"Notes": ["notes/building/projection.md", "notes/building/orthogonality.md"]}


def test_plan_curve_counts_required_points_by_day() -> None:
    rm = Course(FIXTURE).roadmap
    curve = plan_curve(rm)
    assert curve[0] == (0, 0) and curve[1] == (1, 12) and curve[2] == (2, 22) and curve[3] == (3, 44)
    assert curve[-1] == (4, 44), "the optional item on day 4 adds nothing"


def test_actual_curve_buckets_by_calendar_day_from_the_first_activity() -> None:
    rm = Course(FIXTURE).roadmap
    day1 = dt.datetime(2026, 3, 2, 9, 0).timestamp()
    states = {
        "intro-video": ItemState("intro-video", status="done", status_at=day1),
        "dot-product": ItemState("dot-product", status="passed", status_at=day1 + 86400 * 2 + 60),
        "norms": ItemState("norms", status="skipped", status_at=day1 + 86400 * 2 + 120),
    }
    start, curve = actual_curve(rm, LearnerState(states, [], 0, None), now=day1 + 86400 * 3)
    assert start == dt.date(2026, 3, 2)
    assert curve == [(0, 0), (1, 2), (2, 2), (3, 12), (4, 12)], "skipped items earn nothing"
    svg = chart_svg(plan_curve(rm), curve)
    assert svg.startswith("<svg") and 'class="rt-actual"' in svg and "today" in svg


def test_chart_without_progress_has_only_the_plan() -> None:
    rm = Course(FIXTURE).roadmap
    start, curve = actual_curve(rm, LearnerState({}, [], 0, None), now=time.time())
    assert start is None and curve == []
    svg = chart_svg(plan_curve(rm), curve)
    assert 'class="rt-plan"' in svg and "rt-actual" not in svg


def test_exercise_source_reads_task_names_stub_and_checks() -> None:
    src = exercise_source(FIXTURE, "solutions/0_basics/01_dot_product.py", "tests/0_basics/test_dot_product.py")
    assert src.task.startswith("The dot product of two vectors.")
    assert [n.name for n in src.names] == ["dot", "Vector"]
    assert [m.name for m in src.names[1].methods] == ["__init__", "dot"]
    assert "raise NotImplementedError" in src.stub and "zip(a, b" not in src.stub
    assert src.checks == ("test_matches_a_hand_computed_value", "test_is_symmetric",
                          "TestVector.test_method_agrees_with_function")


def test_missing_files_give_an_empty_source(tmp_path: Path) -> None:
    src = exercise_source(tmp_path, "solutions/x.py", "tests/test_x.py")
    assert src.task == "" and src.names == () and src.stub is None and src.checks == ()


def test_small_helpers() -> None:
    assert check_title("test_rows_sum_to_one") == "rows sum to one"
    assert check_title("TestCache.test_matches_full") == "Cache: matches full"
    assert minutes_text(45) == "45 min" and minutes_text(60) == "1 h" and minutes_text(135) == "2 h 15"
    assert rel("foundations/softmax.md", "notes/foundations/softmax.md") == "../notes/foundations/softmax.md"
    assert rel("roadmap.md", "foundations/index.md") == "foundations/index.md"
    assert md_text("a | b [c] *d*") == "a \\| b \\[c\\] \\*d\\*"
