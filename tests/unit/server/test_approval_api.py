"""The approval API: identity, RBAC, the spec's approvers, replay, conflicts, and concurrency."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from tests.unit.server import harness

from ferryman.ports import kubernetes as k8s
from ferryman.server import app as server_app


async def test_approval_is_recorded_announced_and_triggers_a_reconcile() -> None:
    """alice approves: 202 with the record, approval in status, an Event naming her, a trigger."""
    h = harness.Harness()
    await h.waiting()
    reply = await h.approve("alice-token")
    assert reply.status == 202
    record = reply.json()
    assert record["revision"] == "6.1.0" and record["phase"] == "WaitingApproval"
    assert [a["user"] for a in record["approvals"]] == ["alice"]
    stored = h.world.status().environments["prod"].promotion
    assert stored is not None and [a.user for a in stored.approvals] == ["alice"]
    assert stored.approvals[0].groups == ("release-managers",)
    event = h.world.api.events[-1]
    assert event["message"] == "Approved by alice: looks good"
    assert h.trigger.enqueued == [("default", "podinfo")]


async def test_the_controller_then_promotes_once() -> None:
    """After the API records the approval, the reconciler promotes prod exactly once."""
    h = harness.Harness()
    await h.waiting()
    assert (await h.approve("alice-token")).status == 202
    await harness.drive(h.world)
    assert h.world.phase("prod") == "Succeeded"
    assert h.world.promote_events()[("prod", "6.1.0")] == 1


async def test_same_user_twice_is_a_no_op() -> None:
    """A second approval by the same user answers 202 and writes nothing."""
    h = harness.Harness(approval={"required": 2, "approvers": {"groups": ["release-managers"]}})
    await h.waiting()
    assert (await h.approve("alice-token")).status == 202
    before = h.state()
    reply = await h.approve("alice-token")
    assert reply.status == 202 and len(reply.json()["approvals"]) == 1
    assert h.state() == before


async def test_rbac_allows_but_spec_approvers_do_not() -> None:
    """bob has the RBAC verb but is not among prod's approvers: 403 NotAnApprover."""
    h = harness.Harness()
    await h.waiting()
    before = h.state()
    reply = await h.approve("bob-token")
    assert reply.status == 403
    assert reply.json()["reason"] == "NotAnApprover"
    assert h.state() == before


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            "eve-token",
            'user "eve" may not approve pipelines.pipelines.weave.works "podinfo" '
            'in namespace "default"',
        ),
    ],
)
async def test_missing_rbac_verb_is_403_naming_the_permission(token: str, message: str) -> None:
    """Without the ``approve`` verb the answer says exactly which permission is missing."""
    h = harness.Harness()
    await h.waiting()
    reply = await h.approve(token)
    assert reply.status == 403 and reply.json()["message"] == message


async def test_sar_asks_for_the_pipeline_by_name() -> None:
    """The SubjectAccessReview names verb, group, resource, namespace and pipeline."""
    h = harness.Harness()
    await h.waiting()
    await h.approve("alice-token", verb="reject")
    identity, request = h.reviewer.requests[-1]
    assert identity.user == "alice"
    assert (request.verb, request.group, request.resource) == (
        "reject",
        "pipelines.weave.works",
        "pipelines",
    )
    assert (request.namespace, request.name) == ("default", "podinfo")


@pytest.mark.parametrize(
    ("revision", "env", "status", "reason"),
    [
        ("6.0.9", "prod", 409, "WrongRevision"),
        ("6.1.0", "staging", 409, "NotWaiting"),
        ("6.1.0", "qa", 404, "NotFound"),
    ],
    ids=["other-revision", "env-without-approval", "unknown-env"],
)
async def test_refusals_map_to_http_statuses(
    revision: str, env: str, status: int, reason: str
) -> None:
    """Wrong revision and not-waiting are 409, an unknown environment 404; nothing changes."""
    h = harness.Harness()
    await h.waiting()
    before = h.state()
    reply = await h.approve("alice-token", revision, env=env)
    assert (reply.status, reply.json()["reason"]) == (status, reason)
    assert h.state() == before


async def test_unknown_pipeline_is_404_after_authorization() -> None:
    """A missing pipeline answers 404 only to a caller RBAC lets approve it."""
    h = harness.Harness()
    reply = await h.call(
        "POST",
        "/api/v1/namespaces/default/pipelines/nope/environments/prod/approve",
        headers={"authorization": "Bearer alice-token"},
        body=b'{"revision": "1"}',
    )
    assert reply.status == 404


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"[]",
        b"{}",
        b'{"revision": ""}',
        b'{"revision": 7}',
        b'{"revision": "1", "x": 1}',
        json.dumps({"revision": "1", "comment": "c" * 5000}).encode(),
    ],
    ids=[
        "empty",
        "not-json",
        "array",
        "no-revision",
        "empty-revision",
        "number",
        "extra-field",
        "long-comment",
    ],
)
async def test_bad_bodies_are_422(body: bytes) -> None:
    """A body that is not ``{revision, comment}`` answers 422 and changes nothing."""
    h = harness.Harness()
    await h.waiting()
    before = h.state()
    reply = await h.call(
        "POST",
        f"{harness.PREFIX}/prod/approve",
        headers={"authorization": "Bearer alice-token"},
        body=body,
    )
    assert reply.status == 422
    assert h.state() == before


async def test_rejection_ends_the_promotion_and_later_approvals_are_409() -> None:
    """A rejection is fail-closed: phase Rejected, an Event, then approvals are refused."""
    h = harness.Harness()
    await h.waiting()
    reply = await h.approve("carol-token", verb="reject", comment="breaks checkout")
    assert reply.status == 202 and reply.json()["phase"] == "Rejected"
    assert h.world.api.events[-1]["message"] == "Rejected by carol: breaks checkout"
    assert (await h.approve("alice-token")).status == 409
    await harness.drive(h.world)
    assert h.world.phase("prod") == "Rejected"
    assert ("prod", "6.1.0") not in h.world.promote_events()


async def test_replayed_approval_after_the_promotion_is_409_and_changes_nothing() -> None:
    """A captured approval re-sent after prod was promoted answers 409; status stays as is."""
    h = harness.Harness(approval={"required": 1, "approvers": {"users": ["alice", "carol"]}})
    await h.waiting()
    assert (await h.approve("carol-token")).status == 202
    await harness.drive(h.world)
    assert h.world.phase("prod") == "Succeeded"
    before = h.state()
    reply = await h.approve("alice-token")
    assert reply.status == 409
    assert h.state() == before
    assert h.world.promote_events()[("prod", "6.1.0")] == 1


async def test_conflicts_are_retried_and_then_reported() -> None:
    """A 409 from the store is retried with a fresh read; endless conflicts end in a 409."""
    h = harness.Harness()
    await h.waiting()
    failures = iter([True, True])
    h.world.api.fail_status_write = lambda obj: next(failures, False)
    assert (await h.approve("alice-token")).status == 202
    record = h.world.status().environments["prod"].promotion
    assert record is not None and [a.user for a in record.approvals] == ["alice"]
    h2 = harness.Harness()
    await h2.waiting()
    h2.world.api.fail_status_write = lambda obj: True
    before = h2.state()
    reply = await h2.approve("alice-token")
    assert reply.status == 409 and "kept changing" in reply.json()["message"]
    assert h2.state() == before


async def test_two_approvers_at_once_with_quorum_two_make_one_promotion() -> None:
    """Two simultaneous approvals both land (the loser of the RV race retries); one promotion."""
    h = harness.Harness(approval={"required": 2, "approvers": {"groups": ["release-managers"]}})
    await h.waiting()
    real_get = h.world.api.store.get
    barrier = asyncio.Barrier(2)

    class RacingStore:
        """Both requests read the same resourceVersion before either writes."""

        def __init__(self) -> None:
            self.first = True
            self.attempts = 0

        async def get(self, namespace: str, name: str) -> k8s.JSON | None:
            obj = await real_get(namespace, name)
            if self.first:
                await barrier.wait()
            return obj

        async def write_status(self, obj: k8s.JSON, status: k8s.JSON) -> k8s.JSON:
            self.first = False
            self.attempts += 1
            return await h.world.api.write_status(obj, status)

    racing = RacingStore()
    h.app = server_app.create_app(dataclasses.replace(h.deps, store=racing))
    first, second = await asyncio.gather(h.approve("alice-token"), h.approve("carol-token"))
    assert (first.status, second.status) == (202, 202)
    record = h.world.status().environments["prod"].promotion
    assert record is not None and sorted(a.user for a in record.approvals) == ["alice", "carol"]
    assert racing.attempts == 3  # one write lost the resourceVersion race and was re-applied
    await harness.drive(h.world)
    await harness.drive(h.world, owner="b")
    assert h.world.phase("prod") == "Succeeded"
    assert h.world.promote_events()[("prod", "6.1.0")] == 1


async def test_review_outage_fails_closed() -> None:
    """TokenReview or SubjectAccessReview unavailable: 503, nothing recorded."""
    h = harness.Harness()
    await h.waiting()
    before = h.state()
    h.authn.unavailable = True
    assert (await h.approve("alice-token")).status == 503
    h.authn.unavailable = False
    h.reviewer.unavailable = True
    assert (await h.approve("alice-token")).status == 503
    assert h.state() == before
