"""The pacer keeps every sliding window under the limit, refuses long waits, honours holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryman.adapters.githost import base
from ferryman.domain import errors


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=300),
    limit=st.integers(min_value=3, max_value=90),
    data=st.data(),
)
async def test_no_window_ever_holds_more_than_the_limit(
    gaps: list[float], limit: int, data: st.DataObject
) -> None:
    """Whatever the arrival pattern, at most ``limit`` calls start in any ``period``."""
    burst = data.draw(st.integers(min_value=0, max_value=limit - 2))
    clock = Clock()
    pacer = base.Pacer(
        limit=limit, period=60.0, burst=burst, max_wait=1e9, clock=clock.time, sleep=clock.sleep
    )
    starts: list[float] = []
    for gap in gaps:
        clock.now += gap
        await pacer.acquire("k")
        starts.append(clock.now)
    for index, start in enumerate(starts):
        inside = [s for s in starts[index:] if s < start + 60.0 - 1e-9]
        assert len(inside) <= limit


async def test_a_wait_beyond_max_wait_is_a_temporary_error_with_the_delay() -> None:
    """A worker is never parked for long: it gets the delay and is requeued."""
    clock = Clock()
    pacer = base.Pacer(limit=3, period=60, burst=0, max_wait=5, clock=clock.time, sleep=clock.sleep)
    await pacer.acquire("k")
    with pytest.raises(errors.TemporaryError) as raised:
        await pacer.acquire("k")
    assert raised.value.reason == "RateLimited"
    assert raised.value.delay == timedelta(seconds=30)


async def test_a_hold_refuses_calls_until_it_ends_and_keys_are_separate() -> None:
    """After a rate-limit answer the token pauses; another token does not."""
    clock = Clock()
    pacer = base.Pacer(clock=clock.time, sleep=clock.sleep)
    pacer.hold("a", timedelta(seconds=10))
    with pytest.raises(errors.TemporaryError):
        await pacer.acquire("a")
    await pacer.acquire("b")
    clock.now += 10
    await pacer.acquire("a")


def test_pacing_keys_never_contain_the_token() -> None:
    """Keys are kept in memory and may be logged; the token is hashed."""
    key = base.pacing_key("api.github.com", "ghp_secret")
    assert "ghp_secret" not in key
    assert key == base.pacing_key("api.github.com", "ghp_secret")
    assert key != base.pacing_key("api.github.com", "other")
