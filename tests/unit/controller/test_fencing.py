"""Fencing in-process: the elector's fresh-renewal fence, guarded steps, the reconciler stopping
before a side effect, the manager cancelling passes in flight, and a record left by a failed
outcome write being resumed.

The same properties over real processes (SIGSTOP past the lease) are in
``tests/integration/processes/test_fencing.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes
from tests.unit.controller import story

from ferryman.controller import fencing, guarded, leader, manager
from ferryman.domain import errors
from ferryman.ports import git
from ferryman.ports import kubernetes as k8s


class Monotonic:
    """A monotonic clock that moves only when told to (a paused process sees time jump)."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def elector(
    api: fakes.FakeKubernetes,
    clock: fake_clock.FakeClock,
    name: str,
    *,
    monotonic: Callable[[], float],
) -> leader.LeaderElector:
    return leader.LeaderElector(
        api.lease_store(),
        name,
        clock=clock.now,
        lease_duration=15,
        renew_deadline=10,
        retry_period=0.01,
        monotonic=monotonic,
    )


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_a_paused_leader_still_believes_it_leads_but_no_longer_holds_the_fence() -> None:
    """After a pause longer than the renew deadline, ``is_leader`` is still set (the campaign
    loop has not run) but ``holds()`` is already false: the fence catches what the flag cannot."""
    api, clock, ticks = fakes.FakeKubernetes(), fake_clock.FakeClock(), Monotonic()
    first = elector(api, clock, "first", monotonic=ticks)
    run = asyncio.ensure_future(first.run())
    await settle()
    assert first.is_leader and first.holds()
    run.cancel()  # the process is frozen: no renewal from now on, no step-down either
    await asyncio.gather(run, return_exceptions=True)
    ticks.value += 9.9
    assert first.holds()
    ticks.value += 0.2
    assert first.is_leader
    assert not first.holds()


class HangingLeases:
    """A LeaseStore whose API server stops answering after the first acquisition."""

    def __init__(self, inner: k8s.LeaseStore) -> None:
        self.inner = inner
        self.hang = False

    async def get(self) -> k8s.Lease | None:
        if self.hang:
            await asyncio.sleep(3600)
        return await self.inner.get()

    async def create(self, lease: k8s.Lease) -> k8s.Lease:
        return await self.inner.create(lease)

    async def update(self, lease: k8s.Lease) -> k8s.Lease:
        return await self.inner.update(lease)


async def test_a_leader_whose_api_server_hangs_steps_down_by_the_renew_deadline() -> None:
    """A renewal that never answers is cut off by what is left of the renew deadline."""
    api, clock = fakes.FakeKubernetes(), fake_clock.FakeClock()
    store = HangingLeases(api.lease_store())
    elected = leader.LeaderElector(
        store, "first", clock=clock.now, lease_duration=2, renew_deadline=0.3, retry_period=0.05
    )
    run = asyncio.ensure_future(elected.run())
    await settle()
    assert elected.is_leader
    store.hang = True
    await asyncio.wait_for(elected.following.wait(), timeout=5)
    assert not elected.is_leader and not elected.holds()
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)


# ------------------------------------------------------------------ guarded steps


class Switch:
    """A fence that can be opened and closed."""

    def __init__(self) -> None:
        self.on = True

    def __call__(self) -> bool:
        return self.on


async def test_a_guarded_step_checks_the_fence_after_its_checkpoint_and_before_the_call() -> None:
    """Order: ``before-<step>``, fence, call, ``after-<step>``; a failed fence stops the call."""
    seen: list[str] = []
    switch = Switch()
    guard = fencing.Guard(fence=fencing.Fence(switch), checkpoint=seen.append)

    async def call() -> str:
        seen.append("call")
        return "done"

    assert await guard.step("push", call) == "done"
    assert seen == ["before-push", "call", "after-push"]
    switch.on = False
    seen.clear()
    with pytest.raises(fencing.Deposed):
        await guard.step("push", call)
    assert seen == ["before-push"]


async def test_a_step_that_outlives_its_timeout_is_a_temporary_error() -> None:
    """The step timeout bounds one irreversible call; the next attempt is idempotent."""
    guard = fencing.Guard(step_timeout=0.05)
    with pytest.raises(errors.TemporaryError, match="step timeout"):
        await guard.step("create-pull-request", lambda: asyncio.sleep(10))


class Workspace:
    """A ``GitWorkspace`` that records calls."""

    url = "https://git.example.com/acme/deploy.git"
    branch = "main"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        self.calls.append("set_markers")
        return ("a.yaml",)

    async def commit(self, message: str) -> str:
        self.calls.append("commit")
        return "c0ffee"

    async def head(self) -> str:
        return "c0ffee"

    async def push(self, *, branch: str, lease: str | None = None) -> git.PushOutcome:
        self.calls.append("push")
        return git.PushOutcome.PUSHED

    async def remote_tip(self, branch: str) -> str | None:
        self.calls.append("remote_tip")
        return None

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        return False

    async def find_commit(self, trailers: object) -> str | None:
        return None

    async def reset(self) -> None:
        self.calls.append("reset")


async def test_guarded_ports_fence_only_the_irreversible_calls() -> None:
    """A deposed instance may still read and change its own working copy; it may not push."""
    switch = Switch()
    switch.on = False
    inner = Workspace()
    workspace = guarded.GuardedWorkspace(inner, fencing.Guard(fence=fencing.Fence(switch)))
    await workspace.set_markers(token="t", revision="1.1")
    await workspace.commit("promote")
    await workspace.remote_tip("main")
    with pytest.raises(fencing.Deposed):
        await workspace.push(branch="main")
    assert inner.calls == ["set_markers", "commit", "remote_tip"]


class Receiver:
    """Flux's event receiver that records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def post(self, body: bytes) -> None:
        self.bodies.append(body)


async def test_a_deposed_instance_posts_no_flux_event() -> None:
    """The notification strategy's delivery to notification-controller is fenced too."""
    switch = Switch()
    inner = Receiver()
    receiver = guarded.GuardedReceiver(inner, fencing.Guard(fence=fencing.Fence(switch)))
    await receiver.post(b"{}")
    switch.on = False
    with pytest.raises(fencing.Deposed):
        await receiver.post(b"{}")
    assert inner.bodies == [b"{}"]


# ------------------------------------------------------------------ the reconciler


async def test_a_reconciler_deposed_during_its_pass_sends_nothing_and_records_nothing() -> None:
    """The intent is written while leading; the lease is lost before the delivery: no Promote
    event, no outcome. Without the Lease it leaves the intent alone; the new leader resumes it."""
    world = story.World()
    world.release("6.1.0")
    switch = Switch()

    def lose_lease(label: str) -> None:
        if label == "before-promote":
            switch.on = False

    deposed = world.reconciler("a", lose_lease, fence=fencing.Fence(switch))
    with pytest.raises(fencing.Deposed):
        await deposed.reconcile(story.NS, story.NAME)
    record = world.status().environments["staging"].promotion
    assert record is not None and record.phase.value == "Promoting"
    assert (record.attempts, world.promote_events()) == (1, {})

    writes = world.api.status_writes
    await deposed.reconcile(story.NS, story.NAME)  # still without the Lease: OwnedElsewhere
    assert world.api.status_writes == writes and world.promote_events() == {}

    await world.reconciler("b").reconcile(story.NS, story.NAME)  # the new leader
    record = world.status().environments["staging"].promotion
    assert record is not None
    assert (record.phase.value, record.attempts) == ("Promoted", 2)
    assert world.promote_events() == {("staging", "6.1.0"): 1}


async def test_a_failed_outcome_write_is_resumed_by_the_same_process() -> None:
    """The strategy succeeded but recording it failed (the API server answered 503): the next
    pass of the same process resumes the intent instead of waiting for a restart."""
    world = story.World()
    world.release("6.1.0")
    failing = {"on": False, "armed": True}

    def fail_result_write(label: str) -> None:
        if label == "before-promote" and failing["armed"]:
            failing.update(on=True, armed=False)

    rec = world.reconciler("a", fail_result_write)
    original = world.api.write_status

    async def write_status(obj: k8s.JSON, new_status: k8s.JSON) -> k8s.JSON:
        if failing["on"]:
            failing["on"] = False
            raise k8s.Unavailable("injected: 503 Service Unavailable")
        return await original(obj, new_status)

    world.api.write_status = write_status  # type: ignore[method-assign]
    with pytest.raises(k8s.Unavailable):
        await rec.reconcile(story.NS, story.NAME)
    record = world.status().environments["staging"].promotion
    assert record is not None and record.phase.value == "Promoting"
    await rec.reconcile(story.NS, story.NAME)
    record = world.status().environments["staging"].promotion
    assert record is not None
    assert (record.phase.value, record.attempts) == ("Promoted", 2)
    assert world.promote_events() == {("staging", "6.1.0"): 1}  # the event is keyed


# ------------------------------------------------------------------ the manager


async def test_losing_leadership_cancels_the_pass_in_flight_and_requeues_its_key() -> None:
    """A pass blocked in a slow step when the lease is taken is cancelled: it never reaches its
    side effect, and the key waits in the queue for this instance to lead again."""
    api, clock = fakes.FakeKubernetes(), fake_clock.FakeClock()
    api.put(story.pipeline_object())
    elected = elector(api, clock, "first", monotonic=Monotonic())
    runtime = manager.Manager(clusters=api, elector=elected, workers=1)
    started, acted = asyncio.Event(), []

    async def reconcile(namespace: str, name: str) -> timedelta | None:
        started.set()
        await asyncio.sleep(3600)  # a slow step
        acted.append((namespace, name))
        return None

    await runtime.start(reconcile)
    try:
        await asyncio.wait_for(started.wait(), timeout=5)
        assert api.lease is not None
        api.lease = k8s.Lease(
            holder="second",
            acquired=clock.now(),
            renewed=clock.now(),
            duration_seconds=15,
            transitions=1,
            resource_version=api.lease.resource_version,
        )  # the lease expired while this instance was unreachable; another took it
        await asyncio.wait_for(elected.following.wait(), timeout=5)
        await _eventually(lambda: _queued(runtime))
        assert acted == []
    finally:
        await runtime.stop(release=False)


async def _queued(runtime: manager.Manager) -> bool:
    return len(runtime.queue) == 1 and runtime.queue.processing == 0


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")
