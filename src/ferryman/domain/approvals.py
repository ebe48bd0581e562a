"""Approvals and rejections: who may decide, when a quorum is reached, when a request expires.

The approval API calls ``approve``/``reject`` to compute the next status and writes it with a
resourceVersion precondition; ``decide()`` calls ``quorum``/``expires_at`` to move the record on.
An approval is bound to (environment, revision) because it lives inside that record: a newer
revision starts a new record, so an old approval can never promote a different revision.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ferryman.api import durations, pipeline, status
from ferryman.domain import records, text, timefmt

MAX_NAME_LENGTH = 253  # user and group names as the status schema bounds them
Phase = status.PromotionPhase

# The record's phase edges written here (``transitions.EDGES`` checks them against the diagram);
# an approval adds to the record without moving its phase.
EDGES: Final[Mapping[str, frozenset[tuple[Phase | None, Phase]]]] = {
    "Rejection": frozenset({(Phase.WAITING_APPROVAL, Phase.REJECTED)}),
}


@dataclass(frozen=True)
class Approver:
    """An authenticated user as the API server's TokenReview described them."""

    user: str
    groups: tuple[str, ...] = ()


class Refusal(enum.StrEnum):
    """Why an approval or rejection cannot be recorded (the API maps each to an HTTP status)."""

    UNKNOWN_ENVIRONMENT = "UnknownEnvironment"  # 404: no such environment in the spec
    NOT_WAITING = "NotWaiting"  # 409: nothing waits for a decision in this environment
    WRONG_REVISION = "WrongRevision"  # 409: the waiting revision is another one
    ALREADY_DECIDED = "AlreadyDecided"  # 409: approved, rejected or promoted already
    EXPIRED = "Expired"  # 409: the request expired
    NOT_AN_APPROVER = "NotAnApprover"  # 403: the spec's approvers do not include the user
    SELF_APPROVAL = "SelfApproval"  # 403: four-eyes rule across stages


class ApprovalRefused(Exception):
    """The decision cannot be recorded: ``refusal`` says why for code, the message for people."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


def allowed(policy: pipeline.ApprovalPolicy, approver: Approver) -> bool:
    """True when the spec's approver lists admit ``approver`` (no lists: everyone RBAC admits)."""
    approvers = policy.approvers
    if approvers is None or (not approvers.users and not approvers.groups):
        return True
    return approver.user in approvers.users or any(g in approvers.groups for g in approver.groups)


def _counted(policy: pipeline.ApprovalPolicy, record: status.PromotionRecord) -> list[str]:
    users: list[str] = []
    for approval in record.approvals:
        if approval.user not in users and allowed(policy, Approver(approval.user, approval.groups)):
            users.append(approval.user)
    return users


def missing(policy: pipeline.ApprovalPolicy, record: status.PromotionRecord) -> int:
    """How many more approvals from distinct allowed users the record needs."""
    return max(0, policy.required - len(_counted(policy, record)))


def expires_at(policy: pipeline.ApprovalPolicy, record: status.PromotionRecord) -> datetime | None:
    """When the approval request of ``record`` expires (``None``: never)."""
    if policy.expires_after is None or record.approval_requested_at is None:
        return None
    return record.approval_requested_at + durations.parse(policy.expires_after)


def _recorded_groups(policy: pipeline.ApprovalPolicy, groups: Sequence[str]) -> tuple[str, ...]:
    wanted = policy.approvers.groups if policy.approvers is not None else ()
    relevant = [g for g in groups if g in wanted] or [
        g for g in groups if not g.startswith("system:") and len(g) <= MAX_NAME_LENGTH
    ]
    return tuple(relevant[: status.MAX_RECORDED_GROUPS])


def _require_recordable(approver: Approver) -> None:
    """Refuse a user name the status schema cannot hold (truncating would merge identities)."""
    if len(approver.user) > MAX_NAME_LENGTH:
        raise ApprovalRefused(
            Refusal.NOT_AN_APPROVER,
            f"user names longer than {MAX_NAME_LENGTH} characters cannot be recorded",
        )


def _room_for_one_more(
    policy: pipeline.ApprovalPolicy, record: status.PromotionRecord
) -> tuple[status.ApprovalRecord, ...]:
    """The approvals to keep before adding one, within the schema's ``maxItems``.

    Only a policy changed since the approvals were given can fill the list (every approval
    recorded counted when it was given, and fewer than ``required`` count now); then the
    approvals that no longer count make room.
    """
    if len(record.approvals) < status.MAX_APPROVAL_RECORDS:
        return record.approvals
    counted = _counted(policy, record)
    first: dict[str, status.ApprovalRecord] = {}
    for approval in record.approvals:
        if approval.user in counted:
            first.setdefault(approval.user, approval)
    return tuple(first.values())


def _waiting_record(
    current: status.PipelineStatus, environment: str, revision: str
) -> status.PromotionRecord:
    env = current.environments.get(environment)
    record = env.promotion if env is not None else None
    if record is None or (record.phase.finished and record.revision != revision):
        raise ApprovalRefused(
            Refusal.NOT_WAITING, f'environment "{environment}" is not waiting for an approval'
        )
    if record.revision != revision:
        raise ApprovalRefused(
            Refusal.WRONG_REVISION,
            f'environment "{environment}" waits for revision "{record.revision}", not "{revision}"',
        )
    return record


def _require_waiting(record: status.PromotionRecord, environment: str) -> None:
    phase = record.phase
    if phase is status.PromotionPhase.WAITING_APPROVAL:
        return
    if phase is status.PromotionPhase.PENDING:
        raise ApprovalRefused(
            Refusal.NOT_WAITING,
            f'"{record.revision}" is not waiting for approval in "{environment}" yet: '
            "other gates come first",
        )
    if phase is status.PromotionPhase.EXPIRED:
        raise ApprovalRefused(
            Refusal.EXPIRED, f'the approval request for "{record.revision}" expired'
        )
    raise ApprovalRefused(
        Refusal.ALREADY_DECIDED,
        f'the promotion of "{record.revision}" into "{environment}" is {phase.value}',
    )


def earlier_approvers(current: status.PipelineStatus, source: str, revision: str) -> frozenset[str]:
    """Who approved ``revision`` into ``source``, the environment it is promoted from: the
    four-eyes rule (``preventSelfApproval``) refuses their approval of it into the next one."""
    found = current.environments.get(source)
    earlier = found.promotion if found is not None else None
    if earlier is None or earlier.revision != revision:
        return frozenset()
    return frozenset(a.user for a in earlier.approvals)


def approve(
    current: status.PipelineStatus,
    environment: str,
    *,
    policy: pipeline.ApprovalPolicy,
    approver: Approver,
    revision: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """The status with ``approver``'s approval recorded; the same user twice changes nothing."""
    record = _waiting_record(current, environment, revision)
    if any(a.user == approver.user for a in record.approvals):
        return current
    _require_waiting(record, environment)
    if missing(policy, record) == 0:
        raise ApprovalRefused(
            Refusal.ALREADY_DECIDED,
            f'the promotion of "{revision}" into "{environment}" has the approvals it needs',
        )
    deadline = expires_at(policy, record)
    if deadline is not None and now >= deadline:
        raise ApprovalRefused(Refusal.EXPIRED, f'the approval request for "{revision}" expired')
    if not allowed(policy, approver):
        raise ApprovalRefused(
            Refusal.NOT_AN_APPROVER,
            f'user "{approver.user}" is not among the approvers of environment "{environment}"',
        )
    _require_recordable(approver)
    if policy.prevent_self_approval and approver.user in earlier_approvers(
        current, record.from_, revision
    ):
        raise ApprovalRefused(
            Refusal.SELF_APPROVAL,
            f'user "{approver.user}" approved "{revision}" into "{record.from_}" '
            "and may not approve it again (four-eyes rule)",
        )
    entry = status.ApprovalRecord(
        user=approver.user,
        groups=_recorded_groups(policy, approver.groups),
        at=timefmt.truncate(now),
        comment=text.bounded(comment, status.MAX_COMMENT_LENGTH),
        digest=record.change.digest if record.change is not None else None,
    )
    kept = _room_for_one_more(policy, record)
    updated = record.model_copy(update={"approvals": (*kept, entry)})
    return records.replace(current, environment, updated)


def reject(
    current: status.PipelineStatus,
    environment: str,
    *,
    policy: pipeline.ApprovalPolicy,
    approver: Approver,
    revision: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """The status with the promotion of ``revision`` ended as ``Rejected`` (fail-closed)."""
    record = _waiting_record(current, environment, revision)
    rejection = record.rejection
    if rejection is not None and rejection.user == approver.user:
        return current
    _require_waiting(record, environment)
    if not allowed(policy, approver):
        raise ApprovalRefused(
            Refusal.NOT_AN_APPROVER,
            f'user "{approver.user}" is not among the approvers of environment "{environment}"',
        )
    _require_recordable(approver)
    at = timefmt.truncate(now)
    rejection = status.RejectionRecord(
        user=approver.user, at=at, comment=text.bounded(comment, status.MAX_COMMENT_LENGTH)
    )
    updated = record.model_copy(update={"rejection": rejection})
    return records.finish(
        current, environment, updated, status.PromotionPhase.REJECTED, at, by=approver.user
    )
