"""Time gates between a candidate revision and its promotion: soak time and schedule windows.

Pure functions of the spec, the observed status and ``now``. Each returns whether the gate is
open, a stable sentence for ``PromotionPending`` (no countdowns: a message that changed every
second would rewrite status every pass) and the instant the answer can next change, so the
reconciler can requeue exactly then.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import croniter

from ferryman.api import durations, pipeline
from ferryman.domain import timefmt


@dataclass(frozen=True)
class Gate:
    """One gate's verdict."""

    open: bool
    message: str = ""
    changes_at: datetime | None = None


OPEN = Gate(open=True)


def soak(ready_since: datetime | None, min_ready_seconds: int, now: datetime) -> Gate:
    """Open once the source environment has been ready for ``min_ready_seconds``."""
    if min_ready_seconds <= 0:
        return OPEN
    if ready_since is None:
        return Gate(open=False, message="soak time: source is not ready")
    until = ready_since + timedelta(seconds=min_ready_seconds)
    if now >= until:
        return OPEN
    return Gate(
        open=False,
        message=f"soak time: source must stay ready until {timefmt.iso(until)}",
        changes_at=until,
    )


def _zone(window: pipeline.Window) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(window.time_zone or "UTC")


def _current(window: pipeline.Window, now: datetime) -> tuple[datetime, datetime]:
    """The start and end of the window occurrence that began last at or before ``now``."""
    local_now = now.astimezone(_zone(window))
    length = durations.parse(window.duration)
    started = croniter.croniter(window.schedule, local_now + timedelta(seconds=1)).get_prev(
        datetime
    )
    start = started.astimezone(UTC)
    return start, start + length


def _next_start(window: pipeline.Window, now: datetime) -> datetime:
    local_now = now.astimezone(_zone(window))
    following = croniter.croniter(window.schedule, local_now).get_next(datetime)
    return following.astimezone(UTC)


def windows(schedule: Sequence[pipeline.Window], now: datetime) -> Gate:
    """Deny windows win; with allow windows present, ``now`` must be inside one of them."""
    for window in schedule:
        if window.kind is pipeline.WindowKind.DENY:
            start, end = _current(window, now)
            if start <= now < end:
                return Gate(
                    open=False,
                    message=f"deny window {window.schedule!r} is open until {timefmt.iso(end)}",
                    changes_at=end,
                )
    allows = [w for w in schedule if w.kind is pipeline.WindowKind.ALLOW]
    if not allows:
        return OPEN
    for window in allows:
        start, end = _current(window, now)
        if start <= now < end:
            return Gate(open=True, changes_at=end)
    following = min(_next_start(window, now) for window in allows)
    return Gate(
        open=False,
        message=f"outside allowed windows; next opens at {timefmt.iso(following)}",
        changes_at=following,
    )
