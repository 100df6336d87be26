"""What is unlocked, what comes next, and where the learner stands: pure functions of the roadmap
and the learner's item states (no I/O, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from retreat.learner.progress import ItemState
from retreat.roadmap import Exercise, Item, Roadmap, Stage


@dataclass(frozen=True)
class ItemView:
    """An item as the learner sees it now."""

    item: Item
    stage: Stage
    state: ItemState
    locked_by: tuple[str, ...]
    """Required items not yet passed, done or skipped (empty when unlocked)."""

    @property
    def locked(self) -> bool:
        return bool(self.locked_by)

    @property
    def complete(self) -> bool:
        return self.state.complete


@dataclass(frozen=True)
class StageSummary:
    stage: Stage
    total: int
    complete: int
    points: int
    max_points: int


def with_overlay_skips(roadmap: Roadmap, states: dict[str, ItemState]) -> dict[str, ItemState]:
    """The learner's states plus the items their my-roadmap.yaml skips (unless already complete):
    skipped for planning, with nothing written to the progress database."""
    if not roadmap.skipped:
        return states
    merged = dict(states)
    for item_id in roadmap.skipped:
        if not merged.get(item_id, ItemState(item_id)).complete:
            merged[item_id] = replace(merged.get(item_id, ItemState(item_id)), status="skipped")
    return merged


def views(roadmap: Roadmap, states: dict[str, ItemState]) -> list[ItemView]:
    """Every item in roadmap order, with its state and what locks it."""
    states = with_overlay_skips(roadmap, states)
    by_id = {i.id: i for i in roadmap.items}
    out = []
    for stage in roadmap.stages:
        for item in stage.items:
            state = states.get(item.id, ItemState(item.id))
            blockers = tuple(
                r for r in item.requires
                if not by_id[r].optional and not states.get(r, ItemState(r)).complete
            )
            out.append(ItemView(item, stage, state, blockers))
    return out


def next_item(roadmap: Roadmap, states: dict[str, ItemState]) -> ItemView | None:
    """The first unlocked, unfinished item in roadmap order (required items before optional ones)."""
    open_items = [v for v in views(roadmap, states) if not v.complete and not v.locked]
    required = [v for v in open_items if not v.item.optional]
    pool = required or open_items
    return pool[0] if pool else None


def current_exercise(roadmap: Roadmap, states: dict[str, ItemState]) -> ItemView | None:
    """The exercise `retreat check` grades by default: the first unlocked exercise not yet passed."""
    candidates = [v for v in views(roadmap, states)
                  if isinstance(v.item, Exercise) and not v.complete and not v.locked]
    required = [v for v in candidates if not v.item.optional]
    pool = required or candidates
    return pool[0] if pool else None


def stage_summaries(roadmap: Roadmap, states: dict[str, ItemState]) -> list[StageSummary]:
    states = with_overlay_skips(roadmap, states)
    out = []
    for stage in roadmap.stages:
        counted = [i for i in stage.items if not i.optional]
        done = [i for i in counted if states.get(i.id, ItemState(i.id)).complete]
        earned = sum(i.points for i in stage.items
                     if states.get(i.id, ItemState(i.id)).status in ("passed", "done"))
        out.append(StageSummary(stage, len(counted), len(done), earned, sum(i.points for i in counted)))
    return out
