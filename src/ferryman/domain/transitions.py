"""The transition table: what each named state does to the status, and why it holds.

``TABLE`` maps every state of ``states`` to a ``Rule``: the phase edges of the promotion record
it may cause (checked against the diagram in ``docs/architecture.md`` by a test) and the function
that applies it. ``apply`` returns a ``Step`` — the next status, the actions to run after the
write, the hold shown in ``PromotionPending`` and when to look again — and never mutates
anything. ``EDGES`` adds the edges written outside ``decide()`` (the strategy's outcome and the
approval API), so the diagram can be compared with every writer of a record's phase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from ferryman.api import conditions, pipeline, status
from ferryman.domain import actions, approvals, holds, outcomes, records, states, timefmt
from ferryman.domain import summary as summary_rules

Phase = status.PromotionPhase
Edge = tuple[Phase | None, Phase]  # (phase before, phase after); None: no record yet
S = TypeVar("S", bound=states.State)


@dataclass(frozen=True)
class Step:
    """What one state does: the status afterwards and what follows from it."""

    status: status.PipelineStatus
    actions: tuple[actions.Action, ...] = ()
    hold: summary_rules.Pending | None = None
    wake: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Rule(Generic[S]):
    """One row of the table: the edges a state may cause and how it is applied."""

    edges: frozenset[Edge]
    apply: Callable[[states.View, S, status.PipelineStatus], Step]


def _hold(current: status.PipelineStatus, view: states.View, reason: str, message: str) -> Step:
    return Step(current, hold=summary_rules.Pending(view.name, reason, message))


def _notice(
    view: states.View,
    record: status.PromotionRecord,
    reason: str,
    message: str,
    *,
    warning: bool = False,
    actor: str | None = None,
) -> actions.Notify:
    return actions.Notify(view.name, record.revision, reason, message, warning, actor)


def _wakes(*moments: datetime | None) -> tuple[datetime, ...]:
    return tuple(m for m in moments if m is not None)


def finished_message(record: status.PromotionRecord, environment: str) -> str:
    """Why a finished record is not promoted again (``PromotionPending`` message)."""
    phase = record.phase
    if phase is Phase.REJECTED:
        who = record.rejection.user if record.rejection is not None else "an approver"
        return f"{record.revision} was rejected by {who}"
    if phase is Phase.FAILED:
        return f"promotion of {record.revision} failed: {record.last_error or 'unknown error'}"
    if phase is Phase.EXPIRED:
        return f"the approval request for {record.revision} expired"
    if phase is Phase.SUPERSEDED:
        return f"the promotion of {record.revision} into {environment} was superseded"
    return (
        f"{record.revision} was promoted to {environment}, which does not run it ready everywhere"
    )


# ------------------------------------------------------------------ momentary states


def _arrived(view: states.View, state: states.Arrived, current: status.PipelineStatus) -> Step:
    record = state.record
    done = records.finish(
        current,
        view.name,
        record,
        Phase.SUCCEEDED,
        view.now,
        by=records.last_approver(record),
    )
    return Step(done, (_notice(view, record, "Succeeded", f"{view.name} runs {record.revision}"),))


def _overtaken(view: states.View, state: states.Overtaken, current: status.PipelineStatus) -> Step:
    done = records.finish(current, view.name, state.record, Phase.SUPERSEDED, view.now)
    return Step(done, (_notice(view, state.record, "Superseded", state.why),))


def _new_candidate(
    view: states.View, state: states.NewCandidate, current: status.PipelineStatus
) -> Step:
    trigger = state.trigger if state.trigger is not status.HoldReason.HOLD else None
    record = status.PromotionRecord(
        revision=state.candidate,
        from_=view.source_name,
        phase=Phase.PENDING,
        requested_at=view.now,
        trigger=trigger,
        replaces=view.target.revision or None,
    )
    return Step(records.replace(current, view.name, record))


def _approved(view: states.View, state: states.Approved, current: status.PipelineStatus) -> Step:
    record = state.record
    actor = records.last_approver(record)
    approved = record.model_copy(update={"phase": Phase.APPROVED})
    message = f"{record.revision} approved for {view.name}"
    return Step(
        records.replace(current, view.name, approved),
        (_notice(view, record, "Approved", message, actor=actor),),
        wake=_wakes(state.recheck_at),
    )


# ------------------------------------------------------------------ resting states: holds


def _source_not_ready(
    view: states.View, state: states.SourceNotReady, current: status.PipelineStatus
) -> Step:
    if not state.holds:
        return Step(current)
    return _hold(current, view, conditions.ENVIRONMENT_NOT_READY, state.why)


def _nothing(view: states.View, state: states.State, current: status.PipelineStatus) -> Step:
    del view, state
    return Step(current)


def _rolling_out(
    view: states.View, state: states.RollingOut, current: status.PipelineStatus
) -> Step:
    message = f"{view.name} runs {state.candidate} but is not ready"
    return _hold(current, view, conditions.ENVIRONMENT_NOT_READY, message)


def _unobservable(
    view: states.View, state: states.Unobservable, current: status.PipelineStatus
) -> Step:
    ref = state.target.cluster_app_ref
    message = f"cannot see what {view.name} runs ({ref.namespace}/{ref.name}: {state.target.error})"
    return _hold(current, view, summary_rules.target_reason(state.target), message)


def _finished(view: states.View, state: states.Finished, current: status.PipelineStatus) -> Step:
    message = finished_message(state.record, view.name)
    return _hold(current, view, conditions.PROMOTION_FAILED, message)


def _delivered(view: states.View, state: states.Delivered, current: status.PipelineStatus) -> Step:
    record = state.record
    where = f" ({record.result.url})" if record.result and record.result.url else ""
    message = f"waiting for {view.name} to run {record.revision}{where}"
    return _hold(current, view, conditions.PROMOTING, message)


def _in_flight(view: states.View, state: states.InFlight, current: status.PipelineStatus) -> Step:
    return _hold(current, view, conditions.PROMOTING, f"promoting {state.record.revision}")


def _owned_elsewhere(
    view: states.View, state: states.OwnedElsewhere, current: status.PipelineStatus
) -> Step:
    # The same message as ``InFlight``'s: whoever acts, the pipeline is promoting, and a
    # hand-over between instances costs no status write.
    return _hold(current, view, conditions.PROMOTING, f"promoting {state.record.revision}")


def _retrying(view: states.View, state: states.Retrying, current: status.PipelineStatus) -> Step:
    record = state.record
    message = (
        f"attempt {record.attempts} of {record.revision} failed: {record.last_error}; "
        f"retrying at {timefmt.iso(state.at)}"
    )
    step = _hold(current, view, conditions.PROMOTING, message)
    return Step(step.status, hold=step.hold, wake=(state.at,))


def _held(view: states.View, state: states.Held, current: status.PipelineStatus) -> Step:
    message = f"{state.record.revision} waits: {holds.describe(state.hold)}"
    return _hold(current, view, conditions.HELD, message)


def _pinned(view: states.View, state: states.Pinned, current: status.PipelineStatus) -> Step:
    message = f"{state.offered} waits: {holds.describe(state.hold)}"
    return _hold(current, view, conditions.HELD, message)


def _suspended(view: states.View, state: states.Suspended, current: status.PipelineStatus) -> Step:
    del state
    message = "the pipeline is suspended (spec.suspend)"
    return _hold(current, view, conditions.SUSPENDED, message)


def _target_suspended(
    view: states.View, state: states.TargetSuspended, current: status.PipelineStatus
) -> Step:
    ref = state.target.cluster_app_ref
    message = (
        f"{ref.kind} {ref.namespace}/{ref.name} is suspended (spec.suspend), so "
        f"{state.record.revision} waits until it is resumed"
    )
    return _hold(current, view, conditions.TARGET_SUSPENDED, message)


def _verification_failed(
    view: states.View, state: states.VerificationFailed, current: status.PipelineStatus
) -> Step:
    return _hold(current, view, conditions.VERIFICATION_FAILED, state.why)


def _verifying(view: states.View, state: states.Verifying, current: status.PipelineStatus) -> Step:
    return _hold(current, view, conditions.VERIFYING, state.why)


def _gated(view: states.View, state: states.Gated, current: status.PipelineStatus) -> Step:
    step = _hold(current, view, conditions.WAITING_FOR_GATES, state.why)
    return Step(step.status, hold=step.hold, wake=_wakes(state.until))


# ------------------------------------------------------------------ resting states: moves


def _exhausted(view: states.View, state: states.Exhausted, current: status.PipelineStatus) -> Step:
    record = state.record
    done = records.finish(current, view.name, record, Phase.FAILED, view.now)
    message = f"gave up on {record.revision} after {record.attempts} attempts"
    failed = done.environments[view.name].promotion or record
    return Step(
        done,
        (_notice(view, record, "Failed", message, warning=True),),
        hold=summary_rules.Pending(
            view.name, conditions.PROMOTION_FAILED, finished_message(failed, view.name)
        ),
    )


def _expired(
    view: states.View, state: states.ApprovalExpired, current: status.PipelineStatus
) -> Step:
    record = state.record
    done = records.finish(current, view.name, record, Phase.EXPIRED, view.now)
    message = f"approval request for {record.revision} expired"
    return Step(
        done,
        (_notice(view, record, "Expired", message, warning=True),),
        hold=summary_rules.Pending(
            view.name,
            conditions.PROMOTION_FAILED,
            f"the approval request for {record.revision} expired",
        ),
    )


def _awaiting_change(
    view: states.View, state: states.AwaitingChange, current: status.PipelineStatus
) -> Step:
    record = state.record
    if state.retry_at is not None:
        message = (
            f"cannot show the change of {record.revision} for approval: {record.last_error}; "
            f"retrying at {timefmt.iso(state.retry_at)}"
        )
        step = _hold(current, view, conditions.WAITING_APPROVAL, message)
        return Step(step.status, hold=step.hold, wake=(state.retry_at,))
    action = actions.Preview(
        environment=view.name,
        source=record.from_,
        revision=record.revision,
        strategy=view.promotion.strategy_name,
    )
    message = f"preparing the change of {record.revision} for approval"
    step = _hold(current, view, conditions.WAITING_APPROVAL, message)
    return Step(step.status, (action,), hold=step.hold)


def _who(rule: pipeline.ApprovalPolicy) -> str:
    approvers = rule.approvers
    if approvers is None or (not approvers.users and not approvers.groups):
        return ""
    names = [*(f"user {u}" for u in approvers.users), *(f"group {g}" for g in approvers.groups)]
    return " from " + ", ".join(names)


def _awaiting(
    view: states.View, state: states.AwaitingApproval, current: status.PipelineStatus
) -> Step:
    record = state.record
    notices: tuple[actions.Action, ...] = ()
    if record.phase is not Phase.WAITING_APPROVAL:
        record = record.model_copy(
            update={
                "phase": Phase.WAITING_APPROVAL,
                "approval_requested_at": record.approval_requested_at or view.now,
            }
        )
        message = f"{record.revision} waits for approval into {view.name}"
        notices = (_notice(view, record, "WaitingApproval", message),)
    plural = "s" if state.missing > 1 else ""
    message = (
        f"waiting for {state.missing} more approval{plural} of {record.revision}{_who(state.rule)}"
    )
    if record.last_error:  # e.g. why earlier approvals were voided
        message += f" ({record.last_error})"
    return Step(
        records.replace(current, view.name, record),
        notices,
        hold=summary_rules.Pending(view.name, conditions.WAITING_APPROVAL, message),
        wake=_wakes(approvals.expires_at(state.rule, record), state.recheck_at),
    )


def _promote(
    view: states.View,
    record: status.PromotionRecord,
    current: status.PipelineStatus,
    recheck_at: datetime | None = None,
) -> Step:
    intent = record.model_copy(
        update={
            "phase": Phase.PROMOTING,
            "attempts": record.attempts + 1,
            "started_at": record.started_at or view.now,
            "owner": view.owner,
            "next_attempt_at": None,
        }
    )
    action = actions.Promote(
        environment=view.name,
        source=intent.from_,
        revision=intent.revision,
        attempt=intent.attempts,
        strategy=view.promotion.strategy_name,
    )
    return Step(
        records.replace(current, view.name, intent),
        (action,),
        hold=summary_rules.Pending(view.name, conditions.PROMOTING, f"promoting {intent.revision}"),
        wake=_wakes(recheck_at),
    )


def _ready(view: states.View, state: states.ReadyToPromote, current: status.PipelineStatus) -> Step:
    return _promote(view, state.record, current, state.recheck_at)


def _resume(
    view: states.View, state: states.RetryDue | states.Abandoned, current: status.PipelineStatus
) -> Step:
    return _promote(view, state.record, current)


# ------------------------------------------------------------------ the table

_OPEN = (Phase.PENDING, Phase.WAITING_APPROVAL, Phase.APPROVED, Phase.PROMOTING, Phase.PROMOTED)
_BEFORE_PROMOTING = (Phase.PENDING, Phase.WAITING_APPROVAL, Phase.APPROVED)


def _edges(before: tuple[Phase | None, ...], after: Phase) -> frozenset[Edge]:
    return frozenset((phase, after) for phase in before)


NONE: Final[frozenset[Edge]] = frozenset()

TABLE: Final[Mapping[type[states.State], Rule[Any]]] = {
    states.Arrived: Rule(_edges(_OPEN, Phase.SUCCEEDED), _arrived),
    states.SourceNotReady: Rule(NONE, _source_not_ready),
    states.InSync: Rule(NONE, _nothing),
    states.Pinned: Rule(NONE, _pinned),
    states.Overtaken: Rule(_edges(_OPEN, Phase.SUPERSEDED), _overtaken),
    states.Unmanaged: Rule(NONE, _nothing),
    states.RollingOut: Rule(NONE, _rolling_out),
    states.Unobservable: Rule(NONE, _unobservable),
    states.NewCandidate: Rule(_edges((None,), Phase.PENDING), _new_candidate),
    states.Finished: Rule(NONE, _finished),
    states.Delivered: Rule(NONE, _delivered),
    states.InFlight: Rule(NONE, _in_flight),
    states.OwnedElsewhere: Rule(NONE, _owned_elsewhere),
    states.Retrying: Rule(NONE, _retrying),
    states.Exhausted: Rule(_edges((Phase.PROMOTING,), Phase.FAILED), _exhausted),
    states.RetryDue: Rule(_edges((Phase.PROMOTING,), Phase.PROMOTING), _resume),
    states.Abandoned: Rule(_edges((Phase.PROMOTING,), Phase.PROMOTING), _resume),
    states.Held: Rule(NONE, _held),
    states.Suspended: Rule(NONE, _suspended),
    states.TargetSuspended: Rule(NONE, _target_suspended),
    states.VerificationFailed: Rule(NONE, _verification_failed),
    states.Gated: Rule(NONE, _gated),
    states.Verifying: Rule(NONE, _verifying),
    states.Approved: Rule(
        _edges((Phase.PENDING, Phase.WAITING_APPROVAL), Phase.APPROVED), _approved
    ),
    states.AwaitingChange: Rule(NONE, _awaiting_change),
    states.ApprovalExpired: Rule(_edges((Phase.WAITING_APPROVAL,), Phase.EXPIRED), _expired),
    states.AwaitingApproval: Rule(
        _edges((Phase.PENDING, Phase.APPROVED), Phase.WAITING_APPROVAL), _awaiting
    ),
    states.ReadyToPromote: Rule(_edges(_BEFORE_PROMOTING, Phase.PROMOTING), _ready),
}

# Every writer of a record's phase, by what causes the edge: the table's states above, the
# strategy's outcome (``outcomes``) and the approval API (``approvals``).
EDGES: Final[Mapping[str, frozenset[Edge]]] = {
    **{kind.__name__: rule.edges for kind, rule in TABLE.items() if rule.edges},
    **outcomes.EDGES,
    **approvals.EDGES,
}


def apply(view: states.View, state: states.State, current: status.PipelineStatus) -> Step:
    """The step ``state`` takes from ``current`` (see ``TABLE``)."""
    rule: Rule[Any] = TABLE[type(state)]
    return rule.apply(view, state, current)
