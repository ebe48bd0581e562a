"""Crash the controller at every labelled status write and side effect; a fresh instance takes over.

Each seeded run picks a checkpoint and an occurrence, raises ``Crash`` there (as if the process
died), starts a new controller (new owner identity) and carries on. Whatever the point, every
(environment, revision) is promoted exactly once and the story ends in the right state.
"""

from __future__ import annotations

import os
import random

import pytest
from tests.unit.controller import story

LABELS = (
    "before-status-write",
    "after-status-write",
    "before-event",
    "before-promote",
    "after-promote",
    "before-result-write",
    "after-result-write",
)
RUNS = int(os.environ.get("FERRYMAN_CRASH_RUNS", "70"))


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the controller may swallow it)."""


class Crasher:
    """Raise ``Crash`` at the n-th time ``label`` is passed."""

    def __init__(self, label: str, occurrence: int) -> None:
        self.label = label
        self.remaining = occurrence
        self.fired = False

    def __call__(self, label: str) -> None:
        if label != self.label or self.fired:
            return
        self.remaining -= 1
        if self.remaining == 0:
            self.fired = True
            raise Crash(label)


async def run_story(seed: int) -> tuple[story.World, Crasher]:
    rng = random.Random(seed)
    crasher = Crasher(rng.choice(LABELS), rng.randint(1, 4))
    world = story.World()
    generation = 0
    rec = world.reconciler(f"owner-{generation}", crasher)
    releases = ["6.1.0", "6.2.0"]
    world.release(releases.pop(0))
    for _ in range(60):
        try:
            await rec.reconcile(story.NS, story.NAME)
        except Crash:
            generation += 1
            rec = world.reconciler(f"owner-{generation}", crasher)
        if rng.random() < 0.7:
            world.flux_catch_up()
        world.clock.advance(rng.choice((1, 5, 15)))
        st = world.status()
        prod_env = st.environments.get("prod")
        prod = prod_env.promotion if prod_env is not None else None
        if prod is not None and prod.phase.value == "WaitingApproval":
            await world.approve("alice", ("release-managers",), prod.revision)
        if prod is not None and prod.phase.value == "Succeeded" and releases:
            world.release(releases.pop(0))
        done = prod_env is not None and prod_env.revision == "6.2.0" and prod is not None
        if done and prod is not None and prod.phase.value == "Succeeded" and not releases:
            break
    return world, crasher


@pytest.mark.parametrize("seed", range(RUNS))
async def test_crash_anywhere_promotes_each_revision_exactly_once(seed: int) -> None:
    """Seeded crash point: no duplicate promotion, correct final status."""
    world, crasher = await run_story(seed)
    assert crasher.fired, f"seed {seed}: the crash at {crasher.label} never happened"
    counts = world.promote_events()
    assert all(count == 1 for count in counts.values()), counts
    assert set(counts) == {
        ("staging", "6.1.0"),
        ("prod", "6.1.0"),
        ("staging", "6.2.0"),
        ("prod", "6.2.0"),
    }
    st = world.status()
    assert st.environments["prod"].revision == "6.2.0"
    assert world.phase("prod") == "Succeeded"
    assert world.phase("staging") == "Succeeded"
    assert [(h.environment, h.revision) for h in st.history if h.phase.value == "Succeeded"] == [
        ("prod", "6.2.0"),
        ("staging", "6.2.0"),
        ("prod", "6.1.0"),
        ("staging", "6.1.0"),
    ]


async def run_rollback(seed: int) -> tuple[story.World, Crasher]:
    """6.1.0 and 6.2.0 reach prod without crashes; then prod is rolled back to 6.1.0 through its
    approval while the controller crashes once at a seeded point."""
    rng = random.Random(seed)
    world = story.World()
    rec = world.reconciler("owner-0")
    for version in ("6.1.0", "6.2.0"):
        world.release(version)
        for _ in range(12):
            await rec.reconcile(story.NS, story.NAME)
            world.flux_catch_up()
            world.clock.advance(5)
            if world.phase("prod") == "WaitingApproval":
                await world.approve("alice", ("release-managers",), version)
    assert world.status().environments["prod"].revision == "6.2.0"
    await world.rollback("alice")
    crasher = Crasher(rng.choice(LABELS), rng.randint(1, 2))
    generation = 0
    rec = world.reconciler(f"owner-{generation}", crasher)
    for _ in range(40):
        try:
            await rec.reconcile(story.NS, story.NAME)
        except Crash:
            generation += 1
            rec = world.reconciler(f"owner-{generation}", crasher)
        if rng.random() < 0.7:
            world.flux_catch_up()
        world.clock.advance(rng.choice((1, 5, 15)))
        prod = world.status().environments["prod"]
        record = prod.promotion
        if record is not None and record.phase.value == "WaitingApproval":
            await world.approve("alice", ("release-managers",), record.revision)
        if prod.revision == "6.1.0" and world.phase("prod") == "Succeeded":
            break
    return world, crasher


@pytest.mark.parametrize("seed", range(max(RUNS // 5, len(LABELS))))
async def test_crash_anywhere_rolls_back_exactly_once(seed: int) -> None:
    """A rollback is promoted exactly once whatever crashes: one more Promote event for 6.1.0."""
    world, crasher = await run_rollback(seed)
    counts = world.promote_events()
    assert counts[("prod", "6.1.0")] == 2, counts  # the release, then the rollback
    assert counts[("prod", "6.2.0")] == 1, counts
    prod = world.status().environments["prod"]
    assert prod.revision == "6.1.0" and world.phase("prod") == "Succeeded"
    assert prod.hold is not None and prod.hold.revision == "6.1.0"
    rolled = [h for h in world.status().history if h.phase is not None and h.trigger is not None]
    assert [(h.revision, h.trigger.value if h.trigger else "") for h in rolled] == [
        ("6.1.0", "Rollback")
    ]
    del crasher  # a crash at a label the rollback never passes is fine: it is seeded, not forced


CHECK_LABELS = (*LABELS, "before-check", "after-check")


async def run_verified_story(seed: int) -> tuple[story.World, Crasher]:
    """Two releases through a staging that verifies each with a Job and a webhook, while the
    controller crashes once at a seeded point (check steps included) and the Job controller
    finishes Jobs at random moments."""
    rng = random.Random(seed)
    crasher = Crasher(rng.choice(CHECK_LABELS), rng.randint(1, 4))
    world = story.World(staging_checks=[story.SMOKE_JOB, story.SMOKE_HOOK])
    generation = 0
    rec = world.reconciler(f"owner-{generation}", crasher)
    releases = ["6.1.0", "6.2.0"]
    world.release(releases.pop(0))
    for _ in range(150):
        promoted = world.promote_events()
        try:
            await rec.reconcile(story.NS, story.NAME)
        except Crash:
            generation += 1
            rec = world.reconciler(f"owner-{generation}", crasher)
        for env, revision in set(world.promote_events()) - set(promoted):
            if env == "prod":  # promoted in this pass: staging had verified that revision
                staging = world.status().environments["staging"].verification
                assert staging is not None and staging.revision == revision, revision
                assert staging.phase.value == "Passed", (revision, staging)
        if rng.random() < 0.7:
            world.flux_catch_up()
        if rng.random() < 0.5:
            world.jobs.finish()
        world.clock.advance(rng.choice((1, 5, 15, 30)))
        prod = world.status().environments.get("prod") or story.status.EnvironmentStatus()
        record = prod.promotion
        if record is not None and record.phase.value == "WaitingApproval":
            await world.approve("alice", ("release-managers",), record.revision)
        if record is not None and record.phase.value == "Succeeded" and releases:
            world.release(releases.pop(0))
        if prod.revision == "6.2.0" and world.phase("prod") == "Succeeded" and not releases:
            break
    return world, crasher


@pytest.mark.parametrize("seed", range(max(RUNS // 2, len(CHECK_LABELS))))
async def test_crash_anywhere_verifies_each_revision_once_before_prod_gets_it(seed: int) -> None:
    """Whatever crashes: one Job per revision (adopted, never duplicated), webhook deliveries of
    one revision share one key (a repeat only after a crash between call and record), and prod
    is promoted each revision once, only after staging verified it."""
    world, crasher = await run_verified_story(seed)
    counts = world.promote_events()
    assert all(count == 1 for count in counts.values()), counts
    assert world.status().environments["prod"].revision == "6.2.0"
    jobs: dict[str, int] = {}
    for key in world.jobs.created:
        revision = world.jobs.jobs[key]["metadata"]["annotations"]["pipelines.weave.works/revision"]
        jobs[revision] = jobs.get(revision, 0) + 1
    # 6.0.0 (what staging ran at the start) may be replaced by 6.1.0 before its Job starts.
    assert jobs.pop("6.0.0", 1) == 1 and jobs == {"6.1.0": 1, "6.2.0": 1}, jobs
    keys: dict[str, set[str]] = {}
    for payload in world.webhooks.payloads():
        keys.setdefault(payload["revision"], set()).add(payload["key"])
    assert all(len(found) == 1 for found in keys.values()), keys
    assert {"6.1.0", "6.2.0"} <= set(keys)
    repeats = len(world.webhooks.calls) - len(keys)
    assert repeats <= (1 if crasher.fired else 0), (crasher.label, repeats)
