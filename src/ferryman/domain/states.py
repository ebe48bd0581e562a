"""Named states of the promotion into one environment, and ``classify`` that picks one.

``classify(view)`` looks at one environment k >= 1 — what its source (k-1) and it run, its
promotion record, the effective promotion settings and the clock — and names the one state it is
in. ``transitions`` says what each state does. The rules are tried in this order, and the first
that applies names the state:

1. **settling** the record against what runs: ``Arrived``, ``SourceNotReady``, ``InSync``,
   ``Pinned``, ``Overtaken``, ``Unmanaged``, ``RollingOut``, ``Unobservable``, ``NewCandidate``,
   ``Finished``;
2. **in flight** (an intent or a result is recorded): ``Delivered``, ``InFlight``,
   ``OwnedElsewhere``, ``Retrying``, ``Exhausted``, ``RetryDue``, ``Abandoned``;
3. **gates**, for a record not yet promoting: ``Held``, ``Suspended``, ``TargetSuspended``,
   ``VerificationFailed`` (a check of the candidate failed in the source), ``Gated`` (soak time),
   ``Verifying`` (the source's checks of the candidate have not all passed yet), ``Gated``
   (windows); ``TargetSuspended`` also holds a delivered record (``Promoted``), which cannot
   arrive while Flux does not reconcile the target;
4. **approval**: ``Approved``, ``AwaitingChange`` (the change approvers will see is rendered
   first), ``ApprovalExpired``, ``AwaitingApproval``; else ``ReadyToPromote``.

An operator's hold (``environments.<env>.hold``, ``domain.holds``) enters in two ways. A plain
hold stops the line: a promotion that has not started waits in ``Held`` (one that already acted
carries on). A pin (hold at a revision, from ``ferryman promote``/``rollback``) replaces the
candidate: the pinned revision is promoted whatever the source runs — through windows and
approval but not soak time — and once it runs the environment stays there (``Pinned``).

Verification (``domain.verification``) gates like soak time, and alongside it: the source's
checks of the candidate must have passed. A pinned revision need not run in the source, so
neither gate applies to it.

Four states are *momentary*: their transition moves the record (finishes it, creates one, or
approves it) and the environment is classified again in the same pass (``Arrived``,
``Overtaken``, ``NewCandidate``, ``Approved``). Every pass ends in a *resting* state. A chain is
short because each momentary step moves the record forward and never back.

The fencing rule lives here: another owner's ``Promoting`` intent is ``Abandoned`` (resumed) only
when ``View.may_take_over`` — this instance holds the Lease, so the previous holder's lease expired
or was released, or it runs without leader election (one replica). Otherwise it is
``OwnedElsewhere`` and left alone: a deposed or not-yet-elected instance never takes a promotion
over from one that may still be acting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from ferryman.api import pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import approvals, gates, policy, revisions, verification

MAX_ATTEMPTS = 10
Phase = status.PromotionPhase
IN_FLIGHT = frozenset({Phase.PROMOTING, Phase.PROMOTED})


@dataclass(frozen=True)
class View:
    """Everything ``classify`` reads about one environment in one pass (all of it observed)."""

    name: str
    source_name: str
    source: status.EnvironmentStatus
    target: status.EnvironmentStatus
    record: status.PromotionRecord | None
    promotion: policy.EffectivePromotion
    suspended: bool
    now: datetime
    owner: str
    may_take_over: bool  # holds the Lease (or runs without leader election)
    hold: status.HoldRecord | None = None
    source_checks: tuple[checks.Check, ...] = ()  # what the source verifies a revision with

    @property
    def pinned(self) -> str:
        """The revision an operator pinned the environment at (``""``: none)."""
        return self.hold.revision or "" if self.hold is not None else ""

    @property
    def offered(self) -> str:
        """The revision the source runs, ready everywhere (``""`` when it does not)."""
        return self.source.revision if self.source.ready else ""

    @property
    def candidate(self) -> str:
        """The revision to promote: the pinned one, else the one the source offers."""
        return self.pinned or self.offered

    @property
    def open_record(self) -> status.PromotionRecord | None:
        """The record, when it is not finished."""
        record = self.record
        return record if record is not None and not record.phase.finished else None


@dataclass(frozen=True)
class State:
    """Base of every named state."""

    momentary: ClassVar[bool] = False


# ------------------------------------------------------------------ 1. settling


@dataclass(frozen=True)
class Arrived(State):
    """The environment runs the record's revision ready everywhere: the promotion succeeded."""

    momentary: ClassVar[bool] = True
    record: status.PromotionRecord


@dataclass(frozen=True)
class SourceNotReady(State):
    """The source is not ready or its targets disagree: there is no candidate to promote."""

    why: str
    holds: bool  # a promotion could follow and this environment is not settled


@dataclass(frozen=True)
class InSync(State):
    """The environment runs the candidate ready everywhere: nothing to do."""


@dataclass(frozen=True)
class Pinned(State):
    """An operator pinned the environment at the revision it runs; what the source offers waits."""

    hold: status.HoldRecord
    offered: str


@dataclass(frozen=True)
class Overtaken(State):
    """An unfinished record that can no longer complete (a newer candidate, or already there)."""

    momentary: ClassVar[bool] = True
    record: status.PromotionRecord
    why: str


@dataclass(frozen=True)
class Unmanaged(State):
    """No strategy applies to this environment: it is observed only (original behaviour)."""


@dataclass(frozen=True)
class RollingOut(State):
    """The environment runs the candidate but is not ready; promoting again would only loop."""

    candidate: str


@dataclass(frozen=True)
class Unobservable(State):
    """A target cannot be read, so the environment may already run anything: never promote blind."""

    target: status.TargetStatus


@dataclass(frozen=True)
class NewCandidate(State):
    """No record exists for the candidate (or only one older than its pin): one starts."""

    momentary: ClassVar[bool] = True
    candidate: str
    trigger: status.HoldReason | None = None  # Pin or Rollback: an operator asked for it


@dataclass(frozen=True)
class Finished(State):
    """The candidate's record is finished (rejected, expired, failed...): it is never retried."""

    record: status.PromotionRecord


# ------------------------------------------------------------------ 2. in flight


@dataclass(frozen=True)
class Delivered(State):
    """The strategy made its change (PR, commit, event): waiting for the environment to run it."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class InFlight(State):
    """This pass wrote the intent and is carrying it out (``decide()`` run on its own output)."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class OwnedElsewhere(State):
    """Another instance's intent, and this one may not take it over (it does not hold the Lease)."""

    record: status.PromotionRecord
    owner: str


@dataclass(frozen=True)
class Retrying(State):
    """The last attempt failed temporarily; the next one is due at ``at``."""

    record: status.PromotionRecord
    at: datetime


@dataclass(frozen=True)
class Exhausted(State):
    """``MAX_ATTEMPTS`` attempts failed: the promotion fails."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class RetryDue(State):
    """A failed attempt's retry time has come: attempt again."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class Abandoned(State):
    """Another instance wrote the intent and stopped (died or was deposed): resume it."""

    record: status.PromotionRecord
    owner: str


# ------------------------------------------------------------------ 3. gates


@dataclass(frozen=True)
class Held(State):
    """An operator holds the environment: nothing new is promoted into it until ``unhold``."""

    record: status.PromotionRecord
    hold: status.HoldRecord


@dataclass(frozen=True)
class Suspended(State):
    """``spec.suspend`` holds every promotion that has not started."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class TargetSuspended(State):
    """A target's app object has ``spec.suspend``: Flux would not apply a promotion, so wait."""

    record: status.PromotionRecord
    target: status.TargetStatus


@dataclass(frozen=True)
class VerificationFailed(State):
    """A check of the candidate failed in the source: it is not promoted (a newer revision, or
    ``ferryman verify`` passing, lets the line move again)."""

    record: status.PromotionRecord
    why: str


@dataclass(frozen=True)
class Gated(State):
    """A time gate (soak time or a window) is closed until ``until`` (if known)."""

    record: status.PromotionRecord
    why: str
    until: datetime | None


@dataclass(frozen=True)
class Verifying(State):
    """The source's checks of the candidate have not all passed yet."""

    record: status.PromotionRecord
    why: str


# ------------------------------------------------------------------ 4. approval


@dataclass(frozen=True)
class Approved(State):
    """The approvals reached the quorum: the record is approved."""

    momentary: ClassVar[bool] = True
    record: status.PromotionRecord
    recheck_at: datetime | None  # when an open window closes again


@dataclass(frozen=True)
class AwaitingChange(State):
    """Approvals are needed but the change to approve is not rendered yet: render it (or wait
    until ``retry_at`` after a failed attempt)."""

    record: status.PromotionRecord
    retry_at: datetime | None


@dataclass(frozen=True)
class ApprovalExpired(State):
    """Nobody decided within ``expiresAfter``: the request expires."""

    record: status.PromotionRecord


@dataclass(frozen=True)
class AwaitingApproval(State):
    """The gates are open and ``missing`` approvals are still needed."""

    record: status.PromotionRecord
    rule: pipeline.ApprovalPolicy
    missing: int
    recheck_at: datetime | None


@dataclass(frozen=True)
class ReadyToPromote(State):
    """Every gate is open and every approval given: write the intent and promote."""

    record: status.PromotionRecord
    recheck_at: datetime | None


# ------------------------------------------------------------------ classify


def classify(view: View) -> State:
    """The one state ``view``'s environment is in (rules in the order of the module doc)."""
    found = _settling(view)
    if isinstance(found, State):
        return found
    return _in_flight(view, found) or _through_gates(view, found)


def _settling(view: View) -> State | status.PromotionRecord:
    """A settling state, or the candidate's open record when none applies."""
    target, record = view.target, view.open_record
    if record is not None and target.ready and revisions.same(target.revision, record.revision):
        return Arrived(record)
    if not view.pinned and not view.source.ready:
        return _source_not_ready(view)
    candidate = view.candidate
    runs_candidate = revisions.same(target.revision, candidate)
    if runs_candidate and target.ready:
        if record is not None:
            return Overtaken(record, f"{view.name} already runs {candidate}")
        return _settled_at(view, candidate)
    if view.promotion.strategy is None:
        return Unmanaged()
    carrying_on = record is not None and revisions.same(record.revision, candidate)
    if runs_candidate and not carrying_on:
        if record is not None:
            return Overtaken(record, f"{view.name} already runs {candidate}")
        return RollingOut(candidate)
    return _observable(view, candidate) or _record_for(view, candidate)


def _settled_at(view: View, candidate: str) -> State:
    """The environment runs the candidate ready everywhere."""
    hold = view.hold
    if (
        hold is not None
        and view.pinned
        and view.offered
        and not revisions.same(view.offered, candidate)
    ):
        return Pinned(hold, view.offered)
    return InSync()


def _source_not_ready(view: View) -> SourceNotReady:
    source = view.source
    if len({revisions.identity(t.revision) for t in source.targets}) > 1:
        why = f"targets of {view.source_name} disagree on the revision"
    else:
        why = f"{view.source_name} is not ready"
    # Whether a finished record exists must not matter (a fresh pipeline would say otherwise).
    settled = view.target.ready and view.open_record is None
    return SourceNotReady(why, holds=view.promotion.strategy is not None and not settled)


def _observable(view: View, candidate: str) -> State | None:
    blind = next((t for t in view.target.targets if t.error and not t.revision), None)
    record = view.record
    in_flight = (
        record is not None
        and revisions.same(record.revision, candidate)
        and record.phase in IN_FLIGHT
    )
    return Unobservable(blind) if blind is not None and not in_flight else None


def _record_for(view: View, candidate: str) -> State | status.PromotionRecord:
    record = view.record
    same = record is not None and revisions.same(record.revision, candidate)
    if record is not None and not same and not record.phase.finished:
        return Overtaken(record, f"{record.revision} superseded by {candidate}")
    trigger = view.hold.reason if view.hold is not None and view.pinned else None
    if record is None or not same:
        return NewCandidate(candidate, trigger)
    if record.phase.finished:
        # A pin asks again for a revision whose earlier promotion ended: it starts afresh.
        repinned = view.hold is not None and view.pinned and record.requested_at < view.hold.at
        return NewCandidate(candidate, trigger) if repinned else Finished(record)
    return record


def _suspended_target(view: View) -> status.TargetStatus | None:
    return next((t for t in view.target.targets if t.suspended), None)


def _in_flight(view: View, record: status.PromotionRecord) -> State | None:
    if record.phase is Phase.PROMOTED:
        suspended = _suspended_target(view)
        return Delivered(record) if suspended is None else TargetSuspended(record, suspended)
    if record.phase is not Phase.PROMOTING:
        return None
    if record.owner == view.owner:
        return InFlight(record)
    if record.owner is not None and not view.may_take_over:
        return OwnedElsewhere(record, record.owner)
    due = record.next_attempt_at
    if record.owner is None and due is not None and view.now < due:
        return Retrying(record, due)
    if record.attempts >= MAX_ATTEMPTS:
        return Exhausted(record)
    if view.hold is not None and not view.pinned:
        return Held(record, view.hold)  # no new attempt while the line is stopped
    if record.owner is not None:
        return Abandoned(record, record.owner)
    return RetryDue(record)


def _through_gates(view: View, record: status.PromotionRecord) -> State:
    if view.hold is not None and not view.pinned:
        return Held(record, view.hold)
    if view.suspended:
        return Suspended(record)
    suspended = _suspended_target(view)
    if suspended is not None:
        return TargetSuspended(record, suspended)
    # A pinned revision need not run in the source: its soak time and checks do not apply.
    checked = verification.verdict(
        () if view.pinned else view.source_checks, view.source_name, view.source, record.revision
    )
    if checked.failed:
        return VerificationFailed(record, checked.message)
    min_ready = 0 if view.pinned else view.promotion.min_ready_seconds
    soak = gates.soak(view.source.ready_since, min_ready, view.now)
    if not soak.open:
        return Gated(record, soak.message, soak.changes_at)
    if not checked.passed:
        return Verifying(record, checked.message)
    window = gates.windows(view.promotion.windows, view.now)
    if not window.open:
        return Gated(record, window.message, window.changes_at)
    # An open allow window closes again at ``changes_at``: look again then.
    return _approval(view, record, window.changes_at)


def _approval(view: View, record: status.PromotionRecord, recheck: datetime | None) -> State:
    rule = view.promotion.approval
    if rule is None:
        return ReadyToPromote(record, recheck)
    missing = approvals.missing(rule, record)
    if missing == 0:
        if record.phase is Phase.APPROVED:
            return ReadyToPromote(record, recheck)
        return Approved(record, recheck)
    if record.change is None:
        due = record.next_attempt_at
        return AwaitingChange(record, due if due is not None and view.now < due else None)
    deadline = approvals.expires_at(rule, record)
    if record.phase is Phase.WAITING_APPROVAL and deadline is not None and view.now >= deadline:
        return ApprovalExpired(record)
    return AwaitingApproval(record, rule, missing, recheck)
