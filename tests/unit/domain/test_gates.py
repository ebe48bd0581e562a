"""Soak time and schedule windows: open or closed, a stable message, and when that can change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.unit.domain import builders as b

from ferryman.domain import gates

WORKDAY = b.window("allow", "0 9 * * 1-5", "8h")
CHRISTMAS = b.window("deny", "0 0 24 12 *", "48h", "Europe/Berlin")


def test_no_soak_time_is_always_open() -> None:
    """minReadySeconds 0 needs no ready streak at all."""
    assert gates.soak(None, 0, b.NOW) == gates.OPEN


def test_soak_time_without_a_ready_source_is_closed_without_a_wake_up() -> None:
    """A source that is not ready has no streak; only an event can change that."""
    assert gates.soak(None, 60, b.NOW) == gates.Gate(
        open=False, message="soak time: source is not ready"
    )


def test_soak_time_holds_until_the_streak_is_long_enough() -> None:
    """The gate names the instant it opens and opens exactly then."""
    closed = gates.soak(b.ago(seconds=30), 60, b.NOW)
    assert closed == gates.Gate(
        open=False,
        message="soak time: source must stay ready until 2026-12-01T10:00:30Z",
        changes_at=b.later(seconds=30),
    )
    assert gates.soak(b.ago(seconds=30), 60, b.later(seconds=30)) == gates.OPEN


def test_no_windows_is_open() -> None:
    """Without schedules promotions may happen any time."""
    assert gates.windows((), b.NOW) == gates.OPEN


def test_inside_an_allow_window_is_open_until_it_ends() -> None:
    """Tuesday 10:00 UTC is inside Monday-to-Friday 09:00 + 8h."""
    assert gates.windows([WORKDAY], b.NOW) == gates.Gate(open=True, changes_at=b.later(hours=7))


def test_outside_every_allow_window_waits_for_the_earliest_opening() -> None:
    """The message and wake-up name the next start among all allow windows."""
    evening = b.later(hours=8)  # 18:00 Tuesday
    late = b.window("allow", "0 22 * * *", "1h")
    gate = gates.windows([WORKDAY, late], evening)
    assert gate == gates.Gate(
        open=False,
        message="outside allowed windows; next opens at 2026-12-01T22:00:00Z",
        changes_at=datetime(2026, 12, 1, 22, tzinfo=UTC),
    )


def test_a_window_opening_exactly_now_is_open() -> None:
    """The start instant belongs to the window, the end instant does not."""
    start = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert gates.windows([WORKDAY], start).open
    assert not gates.windows([WORKDAY], datetime(2026, 12, 2, 17, tzinfo=UTC)).open


def test_deny_wins_over_allow() -> None:
    """An open deny window closes the gate until it ends, whatever the allow windows say."""
    christmas_eve = datetime(2026, 12, 24, 10, tzinfo=UTC)  # a Thursday, inside WORKDAY
    gate = gates.windows([WORKDAY, CHRISTMAS], christmas_eve)
    assert gate == gates.Gate(
        open=False,
        message="deny window '0 0 24 12 *' is open until 2026-12-25T23:00:00Z",
        changes_at=datetime(2026, 12, 25, 23, tzinfo=UTC),
    )


def test_a_closed_deny_window_lets_allow_windows_decide() -> None:
    """Outside the deny window the allow windows apply as if it were not there."""
    assert gates.windows([CHRISTMAS, WORKDAY], b.NOW).open
    assert gates.windows([CHRISTMAS], b.NOW) == gates.OPEN


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), False),  # 00:30 CET, before the window
        (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), True),  # 01:00 CET, it opens
        (datetime(2026, 3, 29, 2, 30, tzinfo=UTC), True),  # 04:30 CEST, 2h30 of real time later
        (datetime(2026, 3, 29, 3, 0, tzinfo=UTC), False),  # 05:00 CEST: 3h of real time passed
    ],
)
def test_windows_follow_daylight_saving_time(now: datetime, is_open: bool) -> None:
    """A 01:00 Europe/Berlin window lasts 3 real hours across the spring-forward gap."""
    night = b.window("allow", "0 1 * * *", "3h", "Europe/Berlin")
    assert gates.windows([night], now).open is is_open
