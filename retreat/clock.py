"""The one clock the engine's schedules read (reviews, quiz attempts): fixable for tests.

RETREAT_NOW pins it: an ISO date or date-time (`2026-12-01`, `2026-12-01T09:30`, read as local
time unless it names a zone) or seconds since the epoch (`1796083200`).
"""

from __future__ import annotations

import time
from datetime import datetime

import retreat.env as env
from retreat.errors import UsageProblem

DAY = 86400.0


def now() -> float:
    """Seconds since the epoch: $RETREAT_NOW if set, else the system clock."""
    raw = (env.get(env.NOW) or "").strip()
    return parse_time(raw) if raw else time.time()


def parse_time(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        raise UsageProblem(f"{env.NOW}={raw!r} is neither an ISO date (2026-12-01, 2026-12-01T09:30) "
                           "nor seconds since the epoch") from None


def day_text(at: float, reference: float) -> str:
    """'today', 'tomorrow', 'in 3 days', '2 days ago', or the date when it is further away."""
    days = (datetime.fromtimestamp(at).date() - datetime.fromtimestamp(reference).date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if 1 < days <= 30:
        return f"in {days} days"
    if -30 <= days < -1:
        return f"{-days} days ago"
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d")
