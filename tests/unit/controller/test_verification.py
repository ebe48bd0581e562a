"""Verification through the reconciler on an in-memory cluster: staging's checks gate prod.

The world's staging verifies every revision with a Job (one per target namespace) and a signed
webhook; the fakes play the Job controller and the receiver. Each test names the behaviour.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import verification as check_fakes
from tests.unit.controller import story

from ferryman.api import conditions, status
from ferryman.controller import checks, reconciler
from ferryman.controller.strategies import notification
from ferryman.domain import errors, verification
from ferryman.ports import webhooks


async def drive(world: story.World, rec: reconciler.Reconciler, passes: int = 4) -> None:
    for _ in range(passes):
        await rec.reconcile(story.NS, story.NAME)
        world.flux_catch_up()
        world.clock.advance(1)


def checked_world(**kwargs: Any) -> story.World:
    return story.World(staging_checks=[story.SMOKE_JOB, story.SMOKE_HOOK], **kwargs)


async def settled(world: story.World, rec: reconciler.Reconciler) -> None:
    """Let staging verify what it runs at the start (6.0.0), then forget those calls."""
    await drive(world, rec)
    world.jobs.finish()
    world.clock.advance(10)
    await drive(world, rec)
    assert verification_of(world).revision == "6.0.0"
    world.jobs.created.clear()
    world.webhooks.calls.clear()
    world.metrics.queries.clear()


def pending(world: story.World) -> str:
    condition = world.status().condition(conditions.PROMOTION_PENDING)
    assert condition is not None
    return condition.message


def verification_of(world: story.World, env: str = "staging") -> Any:
    found = world.status().environments[env].verification
    assert found is not None
    return found


async def test_prod_waits_for_staging_checks_then_for_approval() -> None:
    """The Job is created once and the webhook called once; prod waits until both passed."""
    world = checked_world()
    rec = world.reconciler("a")
    await settled(world, rec)
    world.release("6.1.0")
    await drive(world, rec)
    assert world.phase("staging") == "Succeeded"
    assert world.phase("prod") == "Pending"
    assert (
        pending(world)
        == "prod: waiting for staging's checks of 6.1.0: smoke-test running, smoke passed"
    )
    assert len(world.jobs.created) == 1
    [(cluster, namespace, name)] = world.jobs.created
    assert (cluster, namespace) == (None, "staging")
    assert name.startswith("podinfo-staging-smoke-test-")
    job = world.jobs.jobs[world.jobs.created[0]]
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert job["metadata"]["annotations"]["pipelines.weave.works/revision"] == "6.1.0"
    [payload] = world.webhooks.payloads()
    assert (payload["environment"], payload["revision"], payload["check"], payload["run"]) == (
        "staging",
        "6.1.0",
        "smoke",
        1,
    )
    assert world.webhooks.calls[0].headers["X-Ferryman-Delivery"] == payload["key"]

    world.jobs.finish()
    world.clock.advance(10)
    await drive(world, rec)
    found = verification_of(world)
    assert found.phase.value == "Passed"
    assert found.check("smoke-test").message.startswith("Job podinfo-staging-smoke-test-")
    assert world.phase("prod") == "WaitingApproval"
    assert len(world.jobs.created) == 1 and len(world.webhooks.calls) == 1
    verified = [e for e in world.api.events if e["reason"] == "Verified"]
    assert [e["annotations"]["revision"] for e in verified] == ["6.0.0", "6.1.0"]


async def test_a_failed_job_blocks_the_revision_and_a_newer_one_is_verified_afresh() -> None:
    """6.1.0's failed Job stops it at staging, with the reason; 6.2.0 passes and goes on."""
    world = checked_world()
    rec = world.reconciler("a")
    await settled(world, rec)
    world.release("6.1.0")
    await drive(world, rec)
    world.jobs.finish(succeeded=False)
    world.clock.advance(10)
    await drive(world, rec)
    message = pending(world)
    assert message == (
        "prod: 6.1.0 failed smoke-test in staging: "
        "staging: BackoffLimitExceeded: Job has reached the specified backoff limit"
    )
    assert (
        world.status().condition(conditions.PROMOTION_PENDING).reason
        == conditions.VERIFICATION_FAILED
    )  # type: ignore[union-attr]
    assert world.phase("prod") == "Pending"
    warnings = [e for e in world.api.events if e["reason"] == "VerificationFailed"]
    assert len(warnings) == 1 and warnings[0]["warning"]

    world.release("6.2.0")
    await drive(world, rec)
    assert verification_of(world).revision == "6.2.0"
    world.jobs.finish()
    world.clock.advance(10)
    await drive(world, rec)
    assert world.phase("prod") == "WaitingApproval"
    assert world.status().environments["prod"].promotion.revision == "6.2.0"  # type: ignore[union-attr]


async def test_verify_runs_the_checks_again_with_new_jobs() -> None:
    """After a failure, ``verify`` starts run 2: a new Job; when it passes, prod moves on."""
    world = checked_world()
    rec = world.reconciler("a")
    await settled(world, rec)
    world.release("6.1.0")
    await drive(world, rec)
    world.jobs.finish(succeeded=False)
    world.clock.advance(10)
    await drive(world, rec)
    obj = world.pipeline()
    subject = story.pipeline.Pipeline.model_validate(obj)
    again = verification.rerun(
        subject.status,
        subject.spec,
        "staging",
        user="alice",
        comment="flaky",
        now=world.clock.now(),
    )
    await world.api.write_status(obj, again.to_wire())
    await drive(world, rec)
    assert verification_of(world).run == 2
    assert len(world.jobs.created) == 2 and len(world.webhooks.calls) == 2
    assert world.jobs.created[0][2] != world.jobs.created[1][2]
    world.jobs.finish()
    world.clock.advance(10)
    await drive(world, rec)
    assert world.phase("prod") == "WaitingApproval"
    assert world.status().history[0].action is status.HistoryAction.VERIFY_REQUESTED


async def test_a_webhook_that_answers_500_is_called_again_with_backoff() -> None:
    """5xx is retried after 10 s with the same delivery key; the 2xx that follows passes."""
    world = story.World(staging_checks=[story.SMOKE_HOOK])
    rec = world.reconciler("a")
    await settled(world, rec)
    answers = iter([500, 204])
    world.webhooks.answer = lambda call: webhooks.WebhookAnswer(next(answers), "")
    world.release("6.1.0")
    await drive(world, rec)
    smoke = verification_of(world).check("smoke")
    assert (smoke.phase.value, smoke.errors, smoke.message) == ("Running", 1, "answered 500")
    world.clock.advance(10)
    await drive(world, rec)
    keys = {call.headers["X-Ferryman-Delivery"] for call in world.webhooks.calls}
    assert len(world.webhooks.calls) == 2 and len(keys) == 1
    assert verification_of(world).phase.value == "Passed"
    assert world.phase("prod") == "WaitingApproval"


async def test_a_webhook_that_says_no_fails_at_once_with_its_message() -> None:
    """A 4xx answer fails the check; its JSON message is what ``why`` shows."""
    world = story.World(staging_checks=[story.SMOKE_HOOK])
    rec = world.reconciler("a")
    await settled(world, rec)
    world.webhooks.answer = lambda call: webhooks.WebhookAnswer(
        422, '{"message": "checkout returns 500 on 6.1.0"}'
    )
    world.release("6.1.0")
    await drive(world, rec)
    assert pending(world) == (
        "prod: 6.1.0 failed smoke in staging: answered 422: checkout returns 500 on 6.1.0"
    )
    assert len(world.webhooks.calls) == 1


async def test_prometheus_measures_at_its_interval_until_count() -> None:
    """count 3, interval 1m: three measurements a minute apart, then the check passes."""
    prom = {
        "name": "errors",
        "prometheus": {
            "address": "http://prometheus:9090",
            "query": "sum(rate(errors[5m]))",
            "threshold": "< 0.01",
            "interval": "1m",
            "count": 3,
        },
    }
    world = story.World(staging_checks=[prom])
    world.metrics.values = [0.001, errors.TemporaryError("Prometheus is restarting"), 0.002, 0.0]
    rec = world.reconciler("a")
    await settled(world, rec)
    world.release("6.1.0")
    await drive(world, rec)
    assert len(world.metrics.queries) == 1
    for _ in range(3):
        world.clock.advance(60)
        await drive(world, rec)
    found = verification_of(world).check("errors")
    assert (found.phase.value, found.count, found.errors, found.value) == ("Passed", 3, 0, "0")
    assert len(world.metrics.queries) == 4
    assert world.phase("prod") == "WaitingApproval"


async def test_without_a_verifier_checks_fail_with_a_sentence() -> None:
    """A controller built without check ports says so in the check instead of hanging."""
    world = story.World(staging_checks=[story.SMOKE_HOOK])
    rec = reconciler.Reconciler(
        store=world.api.store,
        targets=world,
        events=world.api,
        strategies={"notification": notification.NotificationStrategy(world.api)},
        clock=world.clock,
        owner="bare",
    )
    world.release("6.1.0")
    await drive(world, rec)
    assert pending(world) == (
        "prod: 6.1.0 failed smoke in staging: this controller cannot run verification checks"
    )


async def test_a_kind_whose_port_is_missing_fails_and_a_removed_check_is_skipped() -> None:
    """Ports not wired in fail their checks; a step for a check no longer in the spec is ignored."""
    world = story.World(staging_checks=[story.SMOKE_JOB])
    verifier = checks.Verifier(checks.Ports(secrets=check_fakes.FakeSecrets()))
    rec = reconciler.Reconciler(
        store=world.api.store,
        targets=world,
        events=world.api,
        strategies={"notification": notification.NotificationStrategy(world.api)},
        clock=world.clock,
        owner="bare",
        verifier=verifier,
    )
    world.release("6.1.0")
    await drive(world, rec)
    assert "this controller cannot run Job checks" in pending(world)


async def test_a_verified_converged_pipeline_costs_no_write_after_a_restart() -> None:
    """Once every check decided and prod is in sync, a new controller writes nothing, calls
    nothing and creates no Job."""
    world = checked_world()
    rec = world.reconciler("a")
    await settled(world, rec)
    world.release("6.1.0")
    await drive(world, rec)
    world.jobs.finish()
    world.clock.advance(10)
    await drive(world, rec)
    await world.approve("alice", ("release-managers",), "6.1.0")
    await drive(world, rec, passes=6)
    assert world.phase("prod") == "Succeeded"
    world.jobs.finish()  # prod has no checks; nothing else runs
    writes, calls, jobs = (
        world.api.status_writes,
        len(world.webhooks.calls),
        len(world.jobs.created),
    )
    restarted = world.reconciler("b")
    world.clock.advance(600)
    await drive(world, restarted)
    assert (world.api.status_writes, len(world.webhooks.calls), len(world.jobs.created)) == (
        writes,
        calls,
        jobs,
    )
