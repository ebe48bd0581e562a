"""The operator API: hold, unhold, promote a chosen revision, roll back, the diff — and the
incident walk-through of the user guide on the reconciler."""

from __future__ import annotations

from tests.unit.controller import story
from tests.unit.server import harness

from ferryman.api import conditions, status
from ferryman.domain import changes


async def released(h: harness.Harness, version: str) -> None:
    """``version`` reaches prod: released to dev, through staging, approved by alice."""
    h.world.release(version)
    await harness.drive(h.world)
    assert (await h.approve("alice-token", version)).status == 202
    await harness.drive(h.world)
    assert h.world.status().environments["prod"].revision == version


def pending(h: harness.Harness) -> str:
    condition = h.world.status().condition(conditions.PROMOTION_PENDING)
    return condition.message if condition is not None else ""


async def test_hold_is_recorded_announced_and_needs_the_hold_verb() -> None:
    """alice holds prod: 202 with the hold, an Event and a history entry; bob may not (403)."""
    h = harness.Harness()
    denied = await h.operate("bob-token", "hold", comment="mine")
    assert denied.status == 403
    assert "may not hold" in denied.json()["message"]
    reply = await h.operate("alice-token", "hold", comment="incident 42")
    assert reply.status == 202
    assert reply.json()["hold"]["user"] == "alice"
    assert reply.json()["hold"]["reason"] == "Hold"
    hold = h.world.status().environments["prod"].hold
    assert hold is not None and hold.comment == "incident 42"
    assert h.world.api.events[-1]["reason"] == "Held"
    assert h.world.api.events[-1]["message"] == "prod held by alice: incident 42"
    assert h.world.status().history[0].action is status.HistoryAction.HELD
    assert h.trigger.enqueued == [("default", "podinfo")]


async def test_a_held_environment_takes_nothing_and_says_who_and_why() -> None:
    """While prod is held a release stops at staging; unhold lets it ask for approval."""
    h = harness.Harness()
    assert (await h.operate("alice-token", "hold", comment="incident 42")).status == 202
    h.world.release("6.1.0")
    await harness.drive(h.world)
    assert h.world.phase("staging") == "Succeeded"
    assert h.world.phase("prod") == "Pending"
    assert "prod: 6.1.0 waits: held by alice since" in pending(h)
    assert pending(h).endswith(": incident 42")
    assert (await h.operate("alice-token", "unhold", comment="fixed")).status == 202
    await harness.drive(h.world)
    assert h.world.phase("prod") == "WaitingApproval"


async def test_promote_needs_a_revision_the_source_or_target_ran_or_force() -> None:
    """No revision: 422. Unknown revision: 422 listing the accepted ones. Force needs its verb."""
    h = harness.Harness()
    await released(h, "6.1.0")
    missing = await h.operate("alice-token", "promote")
    assert missing.status == 422
    unknown = await h.operate("alice-token", "promote", revision="9.9.9")
    assert unknown.status == 422
    assert "(accepted: 6.1.0, 6.0.0)" in unknown.json()["message"]
    forced = await h.operate("alice-token", "promote", revision="9.9.9", force=True)
    assert forced.status == 403 and "may not force" in forced.json()["message"]
    allowed = await h.operate("carol-token", "promote", revision="9.9.9", force=True)
    assert allowed.status == 202
    assert allowed.json()["hold"]["revision"] == "9.9.9"


async def test_operator_bodies_are_bounded_and_strict() -> None:
    """A comment over 280 characters or an unknown field is a 422 naming it."""
    h = harness.Harness()
    long = await h.operate("alice-token", "hold", comment="x" * 281)
    assert long.status == 422 and "280" in long.json()["message"]
    unknown = await h.operate("alice-token", "hold", reason="because")
    assert unknown.status == 422 and "reason" in unknown.json()["message"]
    first = await h.operate("alice-token", "hold", env="dev")
    assert first.status == 409 and "first environment" in first.json()["message"]
    nowhere = await h.operate("alice-token", "hold", env="qa")
    assert nowhere.status == 404


async def test_the_incident_walkthrough() -> None:
    """6.2.0 reaches prod; rollback → prod waits for approval of 6.1.0 → approved → prod runs
    6.1.0, held; 6.3.0 reaches staging but not prod, which says why; unhold → prod waits for
    approval of 6.3.0."""
    h = harness.Harness()
    await released(h, "6.1.0")
    await released(h, "6.2.0")

    reply = await h.operate("alice-token", "rollback", comment="6.2.0 breaks checkout")
    assert reply.status == 202
    assert reply.json()["hold"] | {"at": ""} == {
        "reason": "Rollback",
        "user": "alice",
        "at": "",
        "comment": "6.2.0 breaks checkout",
        "revision": "6.1.0",
    }
    await harness.drive(h.world)
    record = h.world.status().environments["prod"].promotion
    assert record is not None
    assert (record.revision, record.phase, record.trigger) == (
        "6.1.0",
        status.PromotionPhase.WAITING_APPROVAL,
        status.HoldReason.ROLLBACK,
    )
    assert (await h.approve("carol-token", "6.1.0")).status == 202
    await harness.drive(h.world)
    prod = h.world.status().environments["prod"]
    assert prod.revision == "6.1.0" and h.world.phase("prod") == "Succeeded"
    assert h.world.status().history[0].trigger is status.HoldReason.ROLLBACK
    assert h.world.promote_events()[("prod", "6.1.0")] == 2  # once in the release, once back

    h.world.release("6.3.0")
    await harness.drive(h.world)
    assert h.world.status().environments["staging"].revision == "6.3.0"
    assert h.world.status().environments["prod"].revision == "6.1.0"
    assert "prod: 6.3.0 waits: rolled back to 6.1.0 by alice since" in pending(h)

    assert (await h.operate("alice-token", "unhold", comment="fixed in 6.3.0")).status == 202
    await harness.drive(h.world)
    record = h.world.status().environments["prod"].promotion
    assert record is not None and (record.revision, record.phase) == (
        "6.3.0",
        status.PromotionPhase.WAITING_APPROVAL,
    )
    actions = [e.action for e in h.world.status().history if e.action is not None]
    assert actions == [status.HistoryAction.UNHELD, status.HistoryAction.ROLLED_BACK]


async def test_the_diff_shows_the_change_waiting_for_approval() -> None:
    """GET …/diff needs ``get``; it names the waiting revision and phase."""
    h = harness.Harness()
    await h.waiting()
    reply = await h.call(
        "GET", f"{harness.PREFIX}/prod/diff", headers={"authorization": "Bearer alice-token"}
    )
    assert reply.status == 200
    assert reply.json() == {
        "environment": "prod",
        "revision": "6.1.0",
        "phase": "WaitingApproval",
        "change": {
            "digest": changes.digest("default:podinfo:prod", ()),
            "markers": 0,
            "lines": [],
        },
    }
    denied = await h.call(
        "GET", f"{harness.PREFIX}/prod/diff", headers={"authorization": "Bearer eve-token"}
    )
    assert denied.status == 403


async def test_verify_runs_a_failed_environments_checks_again_for_those_allowed() -> None:
    """staging's check failed: bob may not verify (403); alice starts run 2 (202, Event,
    history); while it runs, verifying again is a 409; prod then gets the revision."""
    h = harness.Harness(staging_checks=[story.SMOKE_JOB])
    await harness.drive(h.world)
    h.world.jobs.finish()
    h.world.clock.advance(10)
    await harness.drive(h.world)
    h.world.release("6.1.0")
    await harness.drive(h.world)
    h.world.jobs.finish(succeeded=False)
    h.world.clock.advance(10)
    await harness.drive(h.world)
    assert "prod: 6.1.0 failed smoke-test in staging" in pending(h)

    denied = await h.operate("bob-token", "verify", env="staging")
    assert denied.status == 403 and "may not verify" in denied.json()["message"]
    reply = await h.operate("alice-token", "verify", env="staging", comment="flaky runner")
    assert reply.status == 202
    assert reply.json()["verification"] == {
        "revision": "6.1.0",
        "run": 2,
        "phase": "Running",
        "checks": [],
    }
    assert h.world.api.events[-1]["reason"] == "VerifyRequested"
    assert h.world.api.events[-1]["message"] == "staging checks run again by alice: flaky runner"
    entry = h.world.status().history[0]
    assert (entry.action, entry.by, entry.revision) == (
        status.HistoryAction.VERIFY_REQUESTED,
        "alice",
        "6.1.0",
    )
    await harness.drive(h.world)
    busy = await h.operate("alice-token", "verify", env="staging")
    assert busy.status == 409 and "still running" in busy.json()["message"]
    h.world.jobs.finish()
    h.world.clock.advance(10)
    await harness.drive(h.world)
    assert h.world.phase("prod") == "WaitingApproval"


async def test_verify_is_refused_where_there_is_nothing_to_verify() -> None:
    """No checks in prod: 409; an unknown environment: 404."""
    h = harness.Harness(staging_checks=[story.SMOKE_JOB])
    none = await h.operate("alice-token", "verify", env="prod")
    assert none.status == 409 and none.json()["message"] == 'environment "prod" has no checks'
    unknown = await h.operate("alice-token", "verify", env="qa")
    assert unknown.status == 404
