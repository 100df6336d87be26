"""The progress page: the learner's own state (passed, attempts, time) and a chart of points
earned against the suggested plan, rendered at build time as inline SVG (no JavaScript, no
chart library, and it follows the light/dark palette through CSS variables)."""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass
from pathlib import Path

from retreat.learner.plan import next_item, stage_summaries
from retreat.learner.progress import DB_NAME, Attempt, ItemState, Progress
from retreat.roadmap import Roadmap
from retreat.site.markup import PROGRESS_PAGE, cell, minutes_text, rel, stage_page, status_icon
from retreat.site.pages import Site


@dataclass(frozen=True)
class LearnerState:
    states: dict[str, ItemState]
    attempts: list[Attempt]
    hints: int
    source: Path | None
    """The database read, or None when there is none yet (nothing recorded)."""


def read_state(state_dir: Path) -> LearnerState:
    """The learner's state, read without creating anything: no database means no progress yet."""
    db = state_dir / DB_NAME
    if not db.is_file():
        return LearnerState({}, [], 0, None)
    progress = Progress(state_dir)
    try:
        states = progress.states()
        attempts = progress.attempts()
    finally:
        progress.close()
    return LearnerState(states, attempts, sum(s.hints_shown for s in states.values()), db)


def _day0(moment: float) -> dt.date:
    return dt.datetime.fromtimestamp(moment).date()


def plan_curve(roadmap: Roadmap) -> list[tuple[int, int]]:
    """(day, cumulative points the plan expects by the end of that day), day 0 included."""
    counted = [i for i in roadmap.items if not i.optional]
    last = max([i.day or 0 for i in counted] + [roadmap.course.days])
    unscheduled = sum(i.points for i in counted if not i.day)
    out, total = [(0, 0)], 0
    for day in range(1, last + 1):
        total += sum(i.points for i in counted if i.day == day)
        out.append((day, total + (unscheduled if day == last else 0)))
    return out


def actual_curve(roadmap: Roadmap, ls: LearnerState, now: float) -> tuple[dt.date | None, list[tuple[int, int]]]:
    """The learner's first day and (day, cumulative points earned by the end of it), up to today."""
    moments = [a.started for a in ls.attempts] + [s.status_at for s in ls.states.values() if s.status_at]
    if not moments:
        return None, []
    start = _day0(min(moments))
    points = {i.id: i.points for i in roadmap.items}
    earned: dict[int, int] = {}
    for s in ls.states.values():
        if s.status in ("passed", "done") and s.status_at and s.id in points:
            day = (_day0(s.status_at) - start).days + 1
            earned[day] = earned.get(day, 0) + points[s.id]
    today = max((_day0(now) - start).days + 1, max(earned, default=1))
    out, total = [(0, 0)], 0
    for day in range(1, today + 1):
        total += earned.get(day, 0)
        out.append((day, total))
    return start, out


def chart_svg(plan: list[tuple[int, int]], actual: list[tuple[int, int]], *, width: int = 760,
              height: int = 300) -> str:
    """A line chart: points the plan expects by each day (dashed) and points earned (solid)."""
    left, right, top, bottom = 52, 16, 16, 40
    days = max(plan[-1][0], actual[-1][0] if actual else 0, 1)
    ymax = max(plan[-1][1], max((p for _, p in actual), default=0), 1)
    step = _nice_step(ymax / 5)
    ytop = step * -(-ymax // step)
    pw, ph = width - left - right, height - top - bottom

    def x(day: float) -> float:
        return left + pw * day / days

    def y(pts: float) -> float:
        return top + ph * (1 - pts / ytop)

    parts = [f'<svg class="rt-chart-svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Points earned against the suggested plan" xmlns="http://www.w3.org/2000/svg">']
    for v in range(0, int(ytop) + 1, int(step)):
        parts.append(f'<line class="rt-grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        parts.append(f'<text class="rt-tick" x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    every = 1 if days <= 21 else 7
    for d in range(0, days + 1, every):
        parts.append(f'<text class="rt-tick" x="{x(d):.1f}" y="{height - bottom + 18}" '
                     f'text-anchor="middle">{d}</text>')
    parts.append(f'<text class="rt-axis" x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle">day</text>')
    parts.append(f'<text class="rt-axis" x="14" y="{top + ph / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + ph / 2:.1f})">points</text>')
    plan_pts = " ".join(f"{x(d):.1f},{y(p):.1f}" for d, p in plan)
    parts.append(f'<polyline class="rt-plan" points="{plan_pts}"/>')
    if actual:
        today = actual[-1][0]
        parts.append(f'<line class="rt-today" x1="{x(today):.1f}" x2="{x(today):.1f}" y1="{top}" '
                     f'y2="{top + ph}"/>')
        parts.append(f'<text class="rt-tick" x="{x(today) + 4:.1f}" y="{top + 12}">today</text>')
        pts = " ".join(f"{x(d):.1f},{y(p):.1f}" for d, p in actual)
        parts.append(f'<polyline class="rt-actual" points="{pts}"/>')
        for d, p in actual[1:]:
            parts.append(f'<circle class="rt-dot" cx="{x(d):.1f}" cy="{y(p):.1f}" r="3.5">'
                         f"<title>day {d}: {p} points</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(raw: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if step >= raw:
            return step
    return int(raw) + 1


def _when(moment: float | None) -> str:
    return time.strftime("%b %d, %H:%M", time.localtime(moment)) if moment else "—"


def _seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    return minutes_text(s / 60)


def progress_page(site: Site, ls: LearnerState, *, now: float | None = None) -> str:
    """The progress page: cards, the chart against the plan, stages, items, what is unlocked, recent
    attempts."""
    now = time.time() if now is None else now
    out = ["# Your progress", ""]
    out += _cards(site, ls)
    out += _against_plan(site.roadmap, ls, now)
    out += _by_stage(site.roadmap, ls)
    out += _your_items(site)
    out += _unlocked_now(site)
    out += _recent_attempts(site, ls)
    out += ["", f"<small>Built {_when(now)} from your progress"
            + (f" in `{cell(str(ls.source))}`" if ls.source else "")
            + ". While `retreat docs serve` runs it follows your progress by itself; "
            "otherwise rebuild with `retreat docs build`.</small>", ""]
    return "\n".join(out) + "\n"


def _cards(site: Site, ls: LearnerState) -> list[str]:
    """The numbers at the top (items, points, attempts, time, hints) and what comes next."""
    rm = site.roadmap
    counted = [i for i in rm.items if not i.optional]
    complete = [i for i in counted if ls.states.get(i.id, ItemState(i.id)).complete]
    points = sum(i.points for i in rm.items if ls.states.get(i.id, ItemState(i.id)).status in ("passed", "done"))
    max_points = sum(i.points for i in counted)
    pct = 100 * len(complete) / len(counted) if counted else 0.0
    check_time = sum(a.duration for a in ls.attempts)
    out = []
    if ls.source is None:
        out += ['!!! info "Nothing recorded yet"', "",
                "    This page is built from your own progress, and none is recorded yet. Start with "
                "`retreat next` and grade an exercise with `retreat check`: while `retreat docs serve` "
                "runs, this page follows by itself (otherwise rebuild with `retreat docs build`).", ""]
    out += ['<div class="rt-cards" markdown>',
            f'<div class="rt-card"><b>{len(complete)} / {len(counted)}</b><span>items complete '
            f"({pct:.0f}%)</span></div>",
            f'<div class="rt-card"><b>{points} / {max_points}</b><span>points</span></div>',
            f'<div class="rt-card"><b>{len(ls.attempts)}</b><span>graded attempts</span></div>',
            f'<div class="rt-card"><b>{_seconds(check_time)}</b><span>spent in checks</span></div>',
            f'<div class="rt-card"><b>{ls.hints}</b><span>hints opened</span></div>',
            "</div>", ""]
    nxt = next_item(rm, ls.states)
    if nxt is not None:
        out += [f":material-arrow-right-circle: **Next:** {site.link(PROGRESS_PAGE, nxt.item.id)} "
                f"({minutes_text(nxt.item.minutes)}) — `retreat next` says the same.", ""]
    elif counted and len(complete) == len(counted):
        out += [":material-party-popper: **Every required item is complete.** Well done.", ""]
    return out


def _against_plan(rm: Roadmap, ls: LearnerState, now: float) -> list[str]:
    start, actual = actual_curve(rm, ls, now)
    out = ["## Against the plan", ""]
    if start:
        out += [f"Day 1 is {start.isoformat()}, the day of your first recorded activity. The dashed line "
                f"is what the suggested {rm.course.days}-day plan expects by the end of each day; the "
                "solid line is what you have earned.", ""]
    else:
        out += [f"The dashed line is what the suggested {rm.course.days}-day plan expects by the end of "
                "each day; your own line starts with your first graded attempt.", ""]
    return out + [f'<div class="rt-chart">{chart_svg(plan_curve(rm), actual)}</div>', "",
                  '<div class="rt-legend"><span class="rt-key rt-key-plan"></span> plan '
                  '<span class="rt-key rt-key-actual"></span> you</div>', ""]


def _by_stage(rm: Roadmap, ls: LearnerState) -> list[str]:
    out = ["## By stage", "", "| Stage | Complete | Points | |", "| --- | ---: | ---: | --- |"]
    for s in stage_summaries(rm, ls.states):
        share = 100 * s.complete / s.total if s.total else 0
        out.append(f"| [{cell(s.stage.title)}]({rel(PROGRESS_PAGE, stage_page(s.stage))}) | {s.complete} / {s.total} "
                   f"| {s.points} / {s.max_points} | <span class='rt-bar'><span style='width:{share:.0f}%'>"
                   f"</span></span> |")
    return out


def _your_items(site: Site) -> list[str]:
    """Every item finished, skipped or tried, with its attempts."""
    started = [v for v in site.views.values() if v.state.status or v.state.attempts]
    out = ["", "## Your items", ""]
    if not started:
        return out + ["Items you finish, skip or try show up here, with their attempts.", ""]
    out += ['<div class="rt-items" markdown>', "",
            "| Item | Status | Attempts | Best run | In checks | When |",
            "| --- | --- | ---: | ---: | ---: | --- |"]
    for view in started:
        st = view.state
        status = st.status or "in progress"
        if st.hints_shown:
            status += f" · {st.hints_shown} hint{'s' * (st.hints_shown != 1)}"
        best = f"{st.best_passed} / {st.best_total}" if st.attempts else "—"
        spent = _seconds(st.time_spent) if st.attempts else "—"
        out.append(f"| {site.link(PROGRESS_PAGE, view.item.id)} | {status_icon(view)} {status} "
                   f"| {st.attempts or '—'} | {best} | {spent} "
                   f"| {_when(st.status_at if st.status else st.last_attempt)} |")
    return out + ["", "</div>"]


def _unlocked_now(site: Site) -> list[str]:
    upcoming = [v for v in site.views.values() if not v.complete and not v.locked][:5]
    if not upcoming:
        return []
    out = ["", "## Unlocked now", "",
           "What you can start next, in roadmap order (the [roadmap](roadmap.md) has the rest):", ""]
    return out + [f"- {status_icon(v)} {site.link(PROGRESS_PAGE, v.item.id)} — {minutes_text(v.item.minutes)}"
                  + (f", day {v.item.day}" if v.item.day else "") for v in upcoming]


def _recent_attempts(site: Site, ls: LearnerState) -> list[str]:
    if not ls.attempts:
        return []
    out = ["", "## Recent attempts", "", "| When | Item | Result | Checks | Took |",
           "| --- | --- | --- | ---: | ---: |"]
    known = {i.id for i in site.roadmap.items}
    for a in reversed(ls.attempts[-12:]):
        item = site.link(PROGRESS_PAGE, a.item) if a.item in known else f"`{a.item}`"
        result = ":material-check:{ .rt-passed } passed" if a.ok else \
            f":material-close:{{ .rt-failed }} {html.escape(a.outcome) or 'failed'}"
        out.append(f"| {_when(a.started)} | {item} | {cell(result)} | {a.passed} / {a.total} "
                   f"| {_seconds(a.duration)} |")
    return out
