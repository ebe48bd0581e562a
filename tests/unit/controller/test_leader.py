"""Leader election over an in-memory Lease: one leader, take-over after expiry, release."""

from __future__ import annotations

import asyncio

from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes

from ferryman.controller import leader


def elector(
    api: fakes.FakeKubernetes, clock: fake_clock.FakeClock, name: str
) -> leader.LeaderElector:
    return leader.LeaderElector(
        api.lease_store(),
        name,
        clock=clock.now,
        lease_duration=15,
        renew_deadline=10,
        retry_period=0.01,
    )


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_one_leader_a_successor_after_expiry_and_at_once_after_release() -> None:
    """The first instance leads; the second takes over only when the lease lapses or is released."""
    api, clock = fakes.FakeKubernetes(), fake_clock.FakeClock()
    first, second = elector(api, clock, "first"), elector(api, clock, "second")
    one = asyncio.ensure_future(first.run())
    await settle()
    two = asyncio.ensure_future(second.run())
    await settle()
    assert first.is_leader
    assert not second.is_leader

    one.cancel()  # the leader dies without releasing: nobody renews from now on
    await asyncio.gather(one, return_exceptions=True)
    clock.advance(14)
    await settle()
    assert not second.is_leader  # the lease has not lapsed yet
    clock.advance(2)
    await settle()
    assert second.is_leader
    assert api.lease is not None
    assert (api.lease.holder, api.lease.transitions) == ("second", 1)

    two.cancel()  # a graceful stop: the loop ends, then the lease is released
    await asyncio.gather(two, return_exceptions=True)
    await second.release()
    assert api.lease.holder is None
    assert not second.is_leader
    third = elector(api, clock, "third")
    three = asyncio.ensure_future(third.run())
    await settle()
    assert third.is_leader  # no wait: the lease was released
    three.cancel()
    await asyncio.gather(three, return_exceptions=True)
