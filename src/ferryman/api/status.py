"""``Pipeline`` status: the contract of DESIGN §3 — the only place pipeline state is kept.

Compatibility fields of the original controller (``observedGeneration``, ``conditions``,
``environments.<env>.targets``, ``environments.<env>.waitingApproval``) keep their names and
meaning; everything else is additive. Every list and string is bounded so a status stays far
below etcd's object size limit whatever the spec holds.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ferryman.api import verification as checks
from ferryman.api.base import WireModel

MAX_ERROR_LENGTH = 512
MAX_TARGET_ERROR_LENGTH = 192  # one line of why a target is not ready (x64 targets)
MAX_HISTORY = 20
MAX_FIRST_SEEN = 6  # revisions in flight keep theirs first (docs/architecture.md, status size)
MAX_APPROVAL_RECORDS = 5
MAX_RECORDED_GROUPS = 3
MAX_COMMENT_LENGTH = 280
MAX_REVISION_LENGTH = 256
MAX_URL_LENGTH = 512
MAX_CHANGE_LINES = 4
DIGEST_PATTERN = r"^[0-9a-f]{64}$"

Revision = Annotated[str, Field(max_length=MAX_REVISION_LENGTH)]
ErrorText = Annotated[str, Field(max_length=MAX_ERROR_LENGTH)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT_LENGTH)]
UserName = Annotated[str, Field(max_length=253)]


class Condition(WireModel):
    """A ``metav1.Condition``."""

    type: Annotated[str, Field(max_length=316)]
    status: Literal["True", "False", "Unknown"]
    reason: Annotated[str, Field(min_length=1, max_length=1024)]
    message: Annotated[str, Field(max_length=32768)] = ""
    last_transition_time: datetime
    observed_generation: Annotated[int, Field(ge=0)] | None = None


class ClusterRef(WireModel):
    """Remote cluster of a target, as shown in status (``CrossNamespaceClusterReference``)."""

    api_version: Annotated[str, Field(max_length=253)] | None = None
    kind: Literal["GitopsCluster"] = "GitopsCluster"
    name: Annotated[str, Field(max_length=253)]
    namespace: Annotated[str, Field(max_length=63)] | None = None


class ClusterAppReference(WireModel):
    """Fully qualified app object of a target."""

    api_version: Annotated[str, Field(max_length=253)]
    kind: Annotated[str, Field(max_length=63)]
    name: Annotated[str, Field(max_length=253)]
    namespace: Annotated[str, Field(max_length=63)] | None = None
    cluster_ref: ClusterRef | None = None


class TargetStatus(WireModel):
    """What one target runs (compat: the original's fields, plus two optional ones)."""

    cluster_app_ref: ClusterAppReference
    ready: bool
    revision: Revision = ""
    error: Annotated[str, Field(max_length=MAX_TARGET_ERROR_LENGTH)] = ""
    reason: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description=(
            "Why the target could not be read, as the original controller's condition reasons "
            "say it (TargetClusterNotFound, TargetClusterNotReady); absent otherwise."
        ),
    )
    suspended: bool | None = Field(
        default=None,
        description="True when the app object has spec.suspend: promotions into it wait.",
    )


class WaitingApproval(WireModel):
    """Compat mirror: the revision waiting for approval in this environment."""

    revision: Revision


class PromotionPhase(enum.StrEnum):
    """Where the promotion of one revision into one environment stands (DESIGN §4)."""

    PENDING = "Pending"  # a candidate exists; a gate (soak, window) holds it back
    WAITING_APPROVAL = "WaitingApproval"  # gates passed; approvals are missing
    APPROVED = "Approved"  # quorum reached; the controller will promote next
    REJECTED = "Rejected"  # an approver rejected this revision: never promoted (fail-closed)
    EXPIRED = "Expired"  # nobody decided within expiresAfter
    PROMOTING = "Promoting"  # intent written; the side effect may or may not have happened
    PROMOTED = "Promoted"  # PR opened / commit pushed / event sent; waiting for the environment
    SUCCEEDED = "Succeeded"  # the environment runs the revision, ready everywhere
    FAILED = "Failed"  # retries exhausted or a permanent error
    SUPERSEDED = "Superseded"  # a newer revision replaced this one before it finished

    @property
    def finished(self) -> bool:
        """True for phases nothing moves out of (for this revision)."""
        return self in _FINISHED


_FINISHED = frozenset(
    {
        PromotionPhase.REJECTED,
        PromotionPhase.EXPIRED,
        PromotionPhase.SUCCEEDED,
        PromotionPhase.FAILED,
        PromotionPhase.SUPERSEDED,
    }
)


Digest = Annotated[str, Field(pattern=DIGEST_PATTERN, max_length=64)]


class ApprovalRecord(WireModel):
    """One approval: who, when, why — bound to the record's revision and the change it saw."""

    user: UserName
    groups: Annotated[tuple[UserName, ...], Field(max_length=MAX_RECORDED_GROUPS)] = ()
    at: datetime
    comment: Comment = ""
    digest: Digest | None = None  # the ``change.digest`` shown when the approval was given


class HoldReason(enum.StrEnum):
    """Why an operator holds an environment (``environments.<env>.hold``)."""

    HOLD = "Hold"  # stop the line: nothing is promoted into the environment
    PIN = "Pin"  # held at a chosen revision (``ferryman promote``)
    ROLLBACK = "Rollback"  # held at the revision it ran before (``ferryman rollback``)


class HoldRecord(WireModel):
    """An operator's hold on an environment: who, when, why, and the revision it is held at."""

    reason: HoldReason
    user: UserName
    at: datetime
    comment: Comment = ""
    revision: Revision | None = None  # Pin and Rollback: promote this revision, then stay on it


class ChangeLine(WireModel):
    """One marker the promotion changes (values cut to fit; the digest covers them whole)."""

    path: Annotated[str, Field(max_length=128)]
    old: Annotated[str, Field(max_length=64)] = ""
    new: Annotated[str, Field(max_length=64)] = ""


class ChangeSummary(WireModel):
    """The change the strategy will make for this record, as shown to approvers.

    ``digest`` is sha256 over the sorted lines ``path marker old new`` of every marker the
    strategy changes; an approval records the digest it saw, and a different change at promotion
    time voids it.
    """

    digest: Digest
    markers: Annotated[int, Field(ge=0)] = 0
    lines: Annotated[tuple[ChangeLine, ...], Field(max_length=MAX_CHANGE_LINES)] = ()


class RejectionRecord(WireModel):
    """The rejection that ended a promotion."""

    user: UserName
    at: datetime
    comment: Comment = ""


class PromotionResult(WireModel):
    """What the strategy made: a pull request, a commit or an event, for the UI and for adoption."""

    url: Annotated[str, Field(max_length=MAX_URL_LENGTH)] | None = None
    branch: Annotated[str, Field(max_length=255)] | None = None
    commit: Annotated[str, Field(max_length=64)] | None = None
    number: int | None = None
    key: Annotated[str, Field(max_length=64)] | None = None


class PromotionRecord(WireModel):
    """The promotion INTO an environment: the current one or the last one.

    ``owner`` is the controller instance that wrote the ``Promoting`` intent and is carrying it
    out; a record in ``Promoting`` owned by another (dead or deposed) instance is resumed at once,
    one without owner is retried at ``nextAttemptAt``.
    """

    revision: Revision
    from_: Annotated[str, Field(max_length=63)] = Field(alias="from")
    phase: PromotionPhase
    requested_at: datetime
    approvals: Annotated[tuple[ApprovalRecord, ...], Field(max_length=MAX_APPROVAL_RECORDS)] = ()
    rejection: RejectionRecord | None = None
    approval_requested_at: datetime | None = None
    attempts: Annotated[int, Field(ge=0)] = 0
    started_at: datetime | None = Field(
        default=None,
        description="When the first attempt began (the Promoting intent was first written).",
    )
    owner: Annotated[str, Field(max_length=128)] | None = None
    last_error: ErrorText | None = None
    # Why the last attempt failed, in one CamelCase word (HostKeyUnknown, CertificateUnverifiable).
    last_error_reason: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z]*$")] | None = None
    next_attempt_at: datetime | None = None
    result: PromotionResult | None = None
    finished_at: datetime | None = None
    trigger: HoldReason | None = None  # Pin or Rollback: an operator started this promotion
    replaces: Revision | None = None  # what the environment ran when this promotion started
    change: ChangeSummary | None = None  # what the strategy will change (approvals bind to it)


class EnvironmentStatus(WireModel):
    """What runs in one environment and how the promotion into it stands."""

    targets: Annotated[tuple[TargetStatus, ...], Field(max_length=8)] = ()
    revision: Revision = ""
    ready: bool = False
    ready_since: datetime | None = None
    waiting_approval: WaitingApproval | None = None
    promotion: PromotionRecord | None = None
    hold: HoldRecord | None = None
    verification: checks.VerificationStatus | None = None  # this environment's checks


class HistoryAction(enum.StrEnum):
    """What an operator did, for history entries that are not a finished promotion."""

    HELD = "Held"  # ferryman hold
    UNHELD = "Unheld"  # ferryman unhold
    PINNED = "Pinned"  # ferryman promote --revision
    ROLLED_BACK = "RolledBack"  # ferryman rollback
    VERIFY_REQUESTED = "VerifyRequested"  # ferryman verify: the checks run again


class HistoryEntry(WireModel):
    """One finished promotion or operator action (newest first in ``status.history``)."""

    environment: Annotated[str, Field(max_length=63)]
    revision: Revision
    phase: PromotionPhase | None = None  # a finished promotion's phase
    action: HistoryAction | None = None  # or the operator action this entry records
    at: datetime
    by: UserName | None = None
    url: Annotated[str, Field(max_length=MAX_URL_LENGTH)] | None = None
    # The commit a promotion pushed, kept only where it has no ``url`` (git-push).
    commit: Annotated[str, Field(max_length=64)] | None = None
    trigger: HoldReason | None = None  # Pin or Rollback: an operator started the promotion
    replaced: Revision | None = None  # what the environment ran before (a rollback goes there)
    comment: Comment | None = None
    # When the finished promotion asked for approval, got its quorum and started promoting
    # (delivery figures and the timeline; absent where it never did).
    approval_requested_at: datetime | None = None
    approved_at: datetime | None = None
    started_at: datetime | None = None


class FirstSeen(WireModel):
    """When the first environment first ran a revision ready: where lead times start."""

    revision: Revision
    at: datetime


class PipelineStatus(WireModel):
    """The whole observed and decided state of a Pipeline."""

    observed_generation: int | None = None
    conditions: Annotated[tuple[Condition, ...], Field(max_length=8)] = ()
    environments: dict[str, EnvironmentStatus] = Field(default_factory=dict)
    history: Annotated[tuple[HistoryEntry, ...], Field(max_length=MAX_HISTORY)] = ()
    first_seen: Annotated[tuple[FirstSeen, ...], Field(max_length=MAX_FIRST_SEEN)] = Field(
        default=(),
        description=(
            "When the first environment first ran each recent revision ready, newest first "
            "(lead times start there; bounded, revisions still in flight kept first)."
        ),
    )

    def condition(self, type_: str) -> Condition | None:
        """The condition of that type, if set."""
        return next((c for c in self.conditions if c.type == type_), None)
