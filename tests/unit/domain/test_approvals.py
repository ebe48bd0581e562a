"""Approvals and rejections (DESIGN §5): who may decide, quorum, expiry, and every refusal."""

from __future__ import annotations

import pytest
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.domain import approvals

Phase = status.PromotionPhase
Refusal = approvals.Refusal
ANYONE = pipeline.ApprovalPolicy()
RELEASE = pipeline.ApprovalPolicy(
    required=2, approvers=pipeline.Approvers(users=("oncall",), groups=("release",))
)
ALICE = approvals.Approver("alice", ("release", "system:authenticated"))


def waiting(*users: str, revision: str = "1.1") -> status.PipelineStatus:
    """prod waits for approval of ``revision`` and holds approvals by ``users``."""
    rec = b.record(revision, Phase.WAITING_APPROVAL, approvals=[(u, ["release"]) for u in users])
    return b.with_records(prod=rec)


def approve(
    current: status.PipelineStatus,
    policy: pipeline.ApprovalPolicy = ANYONE,
    approver: approvals.Approver = ALICE,
    *,
    revision: str = "1.1",
    comment: str = "ship it",
    environment: str = "prod",
) -> status.PipelineStatus:
    return approvals.approve(
        current,
        environment,
        policy=policy,
        approver=approver,
        revision=revision,
        comment=comment,
        now=b.NOW.replace(microsecond=123),
    )


def reject(
    current: status.PipelineStatus,
    policy: pipeline.ApprovalPolicy = ANYONE,
    approver: approvals.Approver = ALICE,
    *,
    revision: str = "1.1",
) -> status.PipelineStatus:
    return approvals.reject(
        current,
        "prod",
        policy=policy,
        approver=approver,
        revision=revision,
        comment="not today",
        now=b.NOW,
    )


def refusal(call: object) -> approvals.ApprovalRefused:
    """Run the zero-argument callable and return the refusal it raised."""
    assert callable(call)
    with pytest.raises(approvals.ApprovalRefused) as caught:
        call()
    return caught.value


def test_anyone_rbac_admits_may_approve_without_approver_lists() -> None:
    """No approver lists (or empty ones) mean Kubernetes RBAC alone decides."""
    empty = pipeline.ApprovalPolicy(approvers=pipeline.Approvers())
    assert approvals.allowed(ANYONE, approvals.Approver("x"))
    assert approvals.allowed(empty, approvals.Approver("x"))


def test_approver_lists_admit_users_and_groups() -> None:
    """A listed user or a member of a listed group is allowed; anyone else is not."""
    assert approvals.allowed(RELEASE, approvals.Approver("oncall"))
    assert approvals.allowed(RELEASE, approvals.Approver("bob", ("dev", "release")))
    assert not approvals.allowed(RELEASE, approvals.Approver("mallory", ("dev",)))


def test_missing_counts_distinct_allowed_users() -> None:
    """Duplicates and non-approvers do not bring the quorum closer."""
    rec = b.record(
        "1.1",
        Phase.WAITING_APPROVAL,
        approvals=[("alice", ["release"]), ("alice", ["release"]), ("mallory", ["dev"])],
    )
    assert approvals.missing(RELEASE, rec) == 1
    assert approvals.missing(ANYONE, rec) == 0


def test_expiry_needs_a_policy_and_a_request_time() -> None:
    """expires_at is the request time plus expiresAfter, or None when either is missing."""
    expiring = pipeline.ApprovalPolicy(expires_after="1h30m")
    rec = b.record("1.1", Phase.WAITING_APPROVAL)
    assert approvals.expires_at(expiring, rec) == b.later(minutes=30)
    assert approvals.expires_at(ANYONE, rec) is None
    pending = b.record("1.1", Phase.PENDING)
    assert approvals.expires_at(expiring, pending) is None


def test_approve_records_who_when_and_why() -> None:
    """The approval lands in the record with relevant groups, whole seconds and the comment."""
    after = approve(waiting(), RELEASE)
    rec = after.environments["prod"].promotion
    assert rec is not None
    assert rec.approvals == (
        status.ApprovalRecord(
            user="alice",
            groups=("release",),
            at=b.NOW,
            comment="ship it",
            digest=b.CHANGE.digest,  # the change shown when alice approved
        ),
    )
    assert rec.phase is Phase.WAITING_APPROVAL
    assert after.environments["prod"].waiting_approval == status.WaitingApproval(revision="1.1")


def test_recorded_groups_skip_system_groups_and_are_bounded() -> None:
    """Without approver groups, only non-system groups of sane length are kept, at most five."""
    groups = ("system:masters", "x" * 300, *(f"team-{i}" for i in range(7)))
    after = approve(waiting(), ANYONE, approvals.Approver("carol", groups))
    rec = after.environments["prod"].promotion
    assert rec is not None
    assert rec.approvals[0].groups == tuple(f"team-{i}" for i in range(status.MAX_RECORDED_GROUPS))


def test_comment_is_bounded() -> None:
    """A long comment is cut to the schema's limit with an ellipsis."""
    after = approve(waiting(), comment="y" * 2000)
    rec = after.environments["prod"].promotion
    assert rec is not None
    assert len(rec.approvals[0].comment) == status.MAX_COMMENT_LENGTH
    assert rec.approvals[0].comment.endswith("…")


def test_approving_twice_is_a_no_op() -> None:
    """The same user approving again returns the status unchanged, even once decided."""
    current = waiting("alice")
    assert approve(current, RELEASE) is current
    approved = b.with_records(
        prod=b.record("1.1", Phase.PROMOTING, approvals=[("alice", ["release"])])
    )
    assert approve(approved, RELEASE) is approved


@pytest.mark.parametrize(
    ("current", "revision", "expected"),
    [
        pytest.param(status.PipelineStatus(), "1.1", Refusal.NOT_WAITING, id="no such env"),
        pytest.param(
            b.with_records(
                status.PipelineStatus(environments={"prod": status.EnvironmentStatus()})
            ),
            "1.1",
            Refusal.NOT_WAITING,
            id="no record",
        ),
        pytest.param(
            b.with_records(prod=b.record("1.0", Phase.SUCCEEDED)),
            "1.1",
            Refusal.NOT_WAITING,
            id="finished record of another revision",
        ),
        pytest.param(waiting(), "1.2", Refusal.WRONG_REVISION, id="waits for another revision"),
        pytest.param(
            b.with_records(prod=b.record("1.1", Phase.PENDING)),
            "1.1",
            Refusal.NOT_WAITING,
            id="other gates first",
        ),
        pytest.param(
            b.with_records(prod=b.record("1.1", Phase.EXPIRED)),
            "1.1",
            Refusal.EXPIRED,
            id="expired",
        ),
        pytest.param(
            b.with_records(prod=b.record("1.1", Phase.APPROVED)),
            "1.1",
            Refusal.ALREADY_DECIDED,
            id="already approved",
        ),
        pytest.param(
            b.with_records(prod=b.record("1.1", Phase.SUCCEEDED)),
            "1.1",
            Refusal.ALREADY_DECIDED,
            id="already promoted",
        ),
    ],
)
def test_approve_refuses_when_nothing_waits_for_that_revision(
    current: status.PipelineStatus, revision: str, expected: approvals.Refusal
) -> None:
    """Approvals bind to (environment, revision) and to the WaitingApproval phase only."""
    assert refusal(lambda: approve(current, revision=revision)).refusal is expected
    assert refusal(lambda: reject(current, revision=revision)).refusal is expected


def test_refusal_messages_are_sentences() -> None:
    """Each refusal names the environment or revision it is about."""
    assert str(refusal(lambda: approve(waiting(), revision="1.2"))) == (
        'environment "prod" waits for revision "1.1", not "1.2"'
    )
    assert str(refusal(lambda: approve(status.PipelineStatus()))) == (
        'environment "prod" is not waiting for an approval'
    )
    assert str(refusal(lambda: approve(waiting(), RELEASE, approvals.Approver("mallory")))) == (
        'user "mallory" is not among the approvers of environment "prod"'
    )


def test_an_expired_request_cannot_be_approved() -> None:
    """Past expiresAfter the approval is refused even before decide() marks the record."""
    policy = pipeline.ApprovalPolicy(expires_after="30m")
    assert refusal(lambda: approve(waiting(), policy)).refusal is Refusal.EXPIRED
    assert approve(waiting(), pipeline.ApprovalPolicy(expires_after="2h")) != waiting()


def test_a_quorum_already_reached_refuses_more_approvals() -> None:
    """Once enough users approved, further approvals are refused (the status stays bounded)."""
    current = waiting("alice", "oncall")
    caught = refusal(lambda: approve(current, RELEASE, approvals.Approver("bob", ("release",))))
    assert caught.refusal is Refusal.ALREADY_DECIDED


def test_non_approvers_are_refused() -> None:
    """The spec's approver lists are enforced on top of RBAC."""
    stranger = approvals.Approver("mallory", ("dev",))
    assert refusal(lambda: approve(waiting(), RELEASE, stranger)).refusal is (
        Refusal.NOT_AN_APPROVER
    )
    assert refusal(lambda: reject(waiting(), RELEASE, stranger)).refusal is (
        Refusal.NOT_AN_APPROVER
    )


def test_user_names_the_schema_cannot_hold_are_refused() -> None:
    """A name over 253 characters would be rejected by the API server, so it is refused here."""
    long_name = approvals.Approver("u" * 254)
    assert refusal(lambda: approve(waiting(), ANYONE, long_name)).refusal is (
        Refusal.NOT_AN_APPROVER
    )
    assert refusal(lambda: reject(waiting(), ANYONE, long_name)).refusal is (
        Refusal.NOT_AN_APPROVER
    )


def _four_eyes(source_revision: str, source_users: tuple[str, ...]) -> status.PipelineStatus:
    staging = b.record(source_revision, Phase.SUCCEEDED, source="dev", approvals=source_users)
    return b.with_records(waiting(), staging=staging)


FOUR_EYES = pipeline.ApprovalPolicy(prevent_self_approval=True)


def test_four_eyes_refuses_who_approved_the_same_revision_into_the_source() -> None:
    """preventSelfApproval: approving a revision into two stages needs two people."""
    caught = refusal(lambda: approve(_four_eyes("1.1", ("alice",)), FOUR_EYES))
    assert caught.refusal is Refusal.SELF_APPROVAL
    assert str(caught) == (
        'user "alice" approved "1.1" into "staging" and may not approve it again (four-eyes rule)'
    )


@pytest.mark.parametrize(
    "current",
    [
        pytest.param(_four_eyes("1.0", ("alice",)), id="approved another revision before"),
        pytest.param(_four_eyes("1.1", ("bob",)), id="someone else approved before"),
        pytest.param(waiting(), id="the source has no record"),
    ],
)
def test_four_eyes_allows_everyone_else(current: status.PipelineStatus) -> None:
    """The rule is about the same user and the same revision only."""
    rec = approve(current, FOUR_EYES).environments["prod"].promotion
    assert rec is not None
    assert [a.user for a in rec.approvals] == ["alice"]


def test_a_changed_policy_cannot_overflow_the_approval_list() -> None:
    """Approvals that no longer count make room, so the list stays within maxItems."""
    stale = [f"old-{i}" for i in range(status.MAX_APPROVAL_RECORDS - 1)]
    rec = b.record("1.1", Phase.WAITING_APPROVAL, approvals=[("alice", ["release"]), *stale])
    policy = pipeline.ApprovalPolicy(required=3, approvers=pipeline.Approvers(groups=("release",)))
    bob = approvals.Approver("bob", ("release",))
    after = approve(b.with_records(prod=rec), policy, bob).environments["prod"].promotion
    assert after is not None
    assert [a.user for a in after.approvals] == ["alice", "bob"]


def test_reject_ends_the_promotion_as_rejected() -> None:
    """A rejection is final: phase Rejected, mirror cleared, history names the rejecter."""
    after = reject(waiting("oncall"))
    env = after.environments["prod"]
    assert env.promotion is not None
    assert env.promotion.phase is Phase.REJECTED
    assert env.promotion.rejection == status.RejectionRecord(
        user="alice", at=b.NOW, comment="not today"
    )
    assert env.promotion.finished_at == b.NOW
    assert env.waiting_approval is None
    assert (after.history[0].phase, after.history[0].by) == (Phase.REJECTED, "alice")


def test_rejecting_twice_is_a_no_op_but_others_get_a_conflict() -> None:
    """The same user rejecting again changes nothing; anyone else finds it decided."""
    rejected = reject(waiting())
    assert reject(rejected) is rejected
    bob = approvals.Approver("bob")
    assert refusal(lambda: reject(rejected, ANYONE, bob)).refusal is Refusal.ALREADY_DECIDED
    assert refusal(lambda: approve(rejected, ANYONE, bob)).refusal is Refusal.ALREADY_DECIDED
