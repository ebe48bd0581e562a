"""The reconciler on an in-memory cluster: the story, idempotence, invalid and broken inputs."""

from __future__ import annotations

from typing import Any

from tests.unit.controller import story

from ferryman.api import conditions, status
from ferryman.controller import echoes, reconciler
from ferryman.domain import errors
from ferryman.ports import promotion


async def drive(world: story.World, owner: str = "a", passes: int = 3) -> None:
    """Reconcile and let Flux catch up a few times (what the controller and Flux do over time)."""
    rec = world.reconciler(owner)
    for _ in range(passes):
        await rec.reconcile(story.NS, story.NAME)
        world.flux_catch_up()
        world.clock.advance(1)


async def test_story_release_flows_to_staging_then_waits_for_approval_then_reaches_prod() -> None:
    """A release reaches staging on its own, waits for an approval before prod, then succeeds."""
    world = story.World()
    world.release("6.1.0")
    await drive(world)
    st = world.status()
    assert st.environments["staging"].revision == "6.1.0"
    assert world.phase("staging") == "Succeeded"
    assert world.phase("prod") == "WaitingApproval"
    assert st.environments["prod"].waiting_approval is not None
    assert st.environments["prod"].waiting_approval.revision == "6.1.0"
    pending = st.condition("PromotionPending")
    assert pending is not None and "waiting for 1 more approval of 6.1.0" in pending.message

    await world.approve("alice", ("release-managers",), "6.1.0")
    await drive(world)
    st = world.status()
    assert st.environments["prod"].revision == "6.1.0"
    assert world.phase("prod") == "Succeeded"
    assert st.environments["prod"].waiting_approval is None
    assert st.history[0].environment == "prod" and st.history[0].by == "alice"
    assert world.promote_events() == {("staging", "6.1.0"): 1, ("prod", "6.1.0"): 1}
    reasons = [e["reason"] for e in world.api.events]
    assert "WaitingApproval" in reasons and "Approved" in reasons


async def test_restart_of_a_converged_pipeline_writes_nothing_and_records_no_event() -> None:
    """A fresh controller on converged state: zero status writes, zero Events."""
    world = story.World()
    world.release("6.1.0")
    await drive(world)
    await world.approve("alice", ("release-managers",), "6.1.0")
    await drive(world)
    writes, events = world.api.status_writes, len(world.api.events)
    await drive(world, owner="restarted")
    assert (world.api.status_writes, len(world.api.events)) == (writes, events)


async def test_invalid_spec_sets_stalled_with_every_problem_and_is_not_rewritten() -> None:
    """An invalid Pipeline gets Stalled naming each field; a second pass writes nothing."""
    world = story.World()
    obj: dict[str, Any] = world.pipeline()
    obj["spec"]["environments"][1]["targets"] = []
    obj["spec"]["environments"].append({"name": "dev", "targets": [{"namespace": "x"}]})
    obj.pop("status", None)
    world.api.put(obj)
    rec = world.reconciler("a")
    await rec.reconcile(story.NS, story.NAME)
    stalled = world.status().condition("Stalled")
    assert stalled is not None and stalled.status == "True"
    assert stalled.message == "spec.environments[1].targets: must not be empty"
    writes = world.api.status_writes
    await rec.reconcile(story.NS, story.NAME)
    assert world.api.status_writes == writes
    assert [e["reason"] for e in world.api.events] == ["InvalidSpec"]


async def test_garbage_app_status_becomes_a_bounded_target_error() -> None:
    """An app object with nonsense in its status reports an error; nothing crashes."""
    world = story.World()
    garbage = story.helm_release("staging", "x")
    garbage["status"] = {"conditions": "nope", "history": [{"version": "a"}] * 3, "x": "y" * 5000}
    world.api.put(garbage)
    assert (
        world.api.objects[(story.HELM, "HelmRelease", "staging", "podinfo")]["status"]
        == garbage["status"]
    )
    await world.reconciler("a").reconcile(story.NS, story.NAME)
    target = world.status().environments["staging"].targets[0]
    assert target.ready is False
    assert target.error == "no Ready condition yet"
    ready = world.status().condition("Ready")
    assert ready is not None and ready.status == "False"


async def test_missing_app_object_is_reported_on_its_target() -> None:
    """A target whose app object does not exist says so."""
    world = story.World()
    world.api.delete(story.HELM, "HelmRelease", "prod", "podinfo")
    await world.reconciler("a").reconcile(story.NS, story.NAME)
    target = world.status().environments["prod"].targets[0]
    assert target.error == 'HelmRelease "podinfo" not found in namespace "prod"'


class FailingStrategy:
    """A strategy whose every attempt fails temporarily (HTTP 503 from a Git host, say)."""

    async def promote(self, request: promotion.PromotionRequest) -> status.PromotionResult:
        raise errors.TemporaryError(f"HTTP 503 promoting {request.revision}")


async def test_conditions_follow_the_outcome_written_after_a_failed_attempt() -> None:
    """The outcome write is not skipped as an echo, so the next pass says the attempt failed.

    The decided write (the intent) is this instance's own: its echo changes nothing. The outcome
    write changes the record but not the conditions; were its echo skipped too, ``Ready`` and
    ``PromotionPending`` would keep saying "promoting" after the promotion failed.
    """
    world = story.World()
    world.release("6.1.0")
    own = echoes.OwnWrites()
    rec = reconciler.Reconciler(
        store=world.api.store,
        targets=world,
        events=world.api,
        strategies={"notification": FailingStrategy()},
        clock=world.clock,
        owner="a",
        own_writes=own,
    )
    await rec.reconcile(story.NS, story.NAME)
    after_outcome = world.pipeline()
    record = world.status().environments["staging"].promotion
    assert record is not None and record.last_error == "HTTP 503 promoting 6.1.0"
    pending = world.status().condition(conditions.PROMOTION_PENDING)
    assert pending is not None and pending.message == "staging: promoting 6.1.0"

    assert not own.is_echo(after_outcome)  # the manager enqueues the Pipeline again
    await rec.reconcile(story.NS, story.NAME)
    pending = world.status().condition(conditions.PROMOTION_PENDING)
    assert pending is not None
    assert pending.message.startswith("staging: attempt 1 of 6.1.0 failed: HTTP 503")
    assert own.is_echo(world.pipeline())  # that pass's own write is skipped
