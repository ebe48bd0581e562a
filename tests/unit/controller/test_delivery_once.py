"""Delivery metrics are recorded once per transition: across conflicts, replicas and restarts.

Each controller process has its own recorder (Prometheus metrics are per process); summed over
every process that ever ran, each finished promotion is one outcome, each arrival one lead time
and one duration, each approval quorum one approval wait — whoever wrote the transition, after
the write succeeded.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter

import pytest
from tests.fakes import delivery as fake_delivery
from tests.unit.controller import story
from tests.unit.controller.test_conflicts import approve_with_retry

from ferryman.api import status
from ferryman.controller import reconciler
from ferryman.domain import delivery
from ferryman.ports import kubernetes as k8s

F = delivery.Figure


class Fleet:
    """Controller processes over one World: each start is a new instance with new metrics."""

    def __init__(self, world: story.World) -> None:
        self.world = world
        self.recorders: list[fake_delivery.RecordedMeasures] = []
        self.started = 0

    def start(self) -> reconciler.Reconciler:
        """A new process (a restart, or another replica taking over the lease)."""
        self.started += 1
        recorder = fake_delivery.RecordedMeasures()
        self.recorders.append(recorder)
        return self.world.reconciler(f"replica-{self.started}", delivery_metrics=recorder)

    def measures(self) -> list[delivery.Measure]:
        """What every process ever recorded (what Prometheus sums over replicas)."""
        return [m for recorder in self.recorders for m in recorder.measures()]


def expected_from(current: status.PipelineStatus) -> Counter[tuple[str, str]]:
    """One outcome per finished promotion in history."""
    return Counter(
        (entry.environment, entry.phase.value)
        for entry in current.history
        if entry.phase is not None and entry.phase.finished
    )


async def pump(process: reconciler.Reconciler) -> None:
    with contextlib.suppress(k8s.Conflict):  # the work queue would retry
        await process.reconcile(story.NS, story.NAME)


@pytest.mark.parametrize("seed", range(12))
async def test_each_transition_is_measured_once_across_replicas_restarts_and_conflicts(
    seed: int,
) -> None:
    """Two releases through staging and an approval into prod, with 30% of status writes
    answered 409 and the reconciling process replaced at random (leader change or restart)."""
    rng = random.Random(seed)
    world = story.World()
    refused: list[bool] = []

    def storm(obj: object) -> bool:
        refused.append(rng.random() < 0.3)
        return refused[-1]

    world.api.fail_status_write = storm
    fleet = Fleet(world)
    process = fleet.start()
    world.release("6.1.0")
    for step in range(160):
        if rng.random() < 0.1:
            process = fleet.start()
        await pump(process)
        world.flux_catch_up()
        world.clock.advance(1)
        if step == 40:
            world.release("6.2.0")
        prod = world.status().environments.get("prod")
        record = prod.promotion if prod is not None else None
        if record is not None and record.phase is status.PromotionPhase.WAITING_APPROVAL:
            await approve_with_retry(world, "alice", record.revision)
        if world.phase("prod") == "Succeeded" and record and record.revision == "6.2.0":
            break
    world.api.fail_status_write = None
    await pump(fleet.start())  # a last restart on the converged pipeline measures nothing
    final = world.status()
    assert final.environments["prod"].revision == "6.2.0", final.environments["prod"]

    counted = Counter(
        (m.environment, m.outcome.value) for m in fleet.measures() if isinstance(m, delivery.Ended)
    )
    assert counted == expected_from(final)
    arrivals = [e for e in final.history if e.phase is status.PromotionPhase.SUCCEEDED]
    leads = sorted(
        (m.environment, m.seconds)
        for m in fleet.measures()
        if isinstance(m, delivery.Duration) and m.figure is F.LEAD_TIME
    )
    assert leads == sorted(
        (e.environment, (e.at - seen).total_seconds())
        for e in arrivals
        if (seen := delivery.first_seen(final, e.revision)) is not None
    )
    durations = [
        m
        for m in fleet.measures()
        if isinstance(m, delivery.Duration) and m.figure is F.PROMOTION_DURATION
    ]
    assert len(durations) == len(arrivals)
    waits = [
        m
        for m in fleet.measures()
        if isinstance(m, delivery.Duration) and m.figure is F.APPROVAL_WAIT
    ]
    approved = [e for e in final.history if e.environment == "prod" and e.approved_at is not None]
    assert len(waits) == len(approved) >= 1
    assert fleet.started >= 2
    assert any(refused), "the storm refused no write"


async def test_a_restart_of_a_converged_pipeline_measures_nothing() -> None:
    """A new process decides on the written status: no transition is left to measure."""
    world = story.World()
    fleet = Fleet(world)
    first = fleet.start()
    world.release("6.1.0")
    for _ in range(4):
        await first.reconcile(story.NS, story.NAME)
        world.flux_catch_up()
    assert ("staging", "Succeeded") in fleet.recorders[0].ended()
    again = fleet.start()
    for _ in range(3):
        await again.reconcile(story.NS, story.NAME)
    assert fleet.recorders[1].measures() == []


async def test_a_write_lost_to_a_conflict_measures_nothing_and_its_retry_measures_once() -> None:
    """409 on the write of an arrival: nothing recorded; the re-read pass records it once."""
    world = story.World()
    fleet = Fleet(world)
    process = fleet.start()
    world.release("6.1.0")
    await process.reconcile(story.NS, story.NAME)  # staging: Promote
    world.flux_catch_up()  # staging runs 6.1.0
    refused: list[bool] = []

    def once(obj: object) -> bool:
        refused.append(not refused)
        return refused[-1]

    world.api.fail_status_write = once
    await process.reconcile(story.NS, story.NAME)
    assert refused[0] and len(refused) >= 2
    assert fleet.recorders[0].ended().count(("staging", "Succeeded")) == 1
    assert len(fleet.recorders[0].durations(F.LEAD_TIME)) == 1
