"""Operator actions on one environment: hold, unhold, promote a chosen revision, roll back.

The operator API calls these to compute the next status and writes it with a resourceVersion
precondition, as the approval API does; ``decide()`` reads ``environments.<env>.hold`` (see
``states``). A hold stops the line: nothing new is promoted into the environment. A pin (from
``promote`` or ``rollback``) is a hold at a revision: that revision is promoted — through the
environment's approval gate and windows, not its soak time — and the environment then stays on
it until ``unhold``. Every action lands in ``history`` with who, when and why.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from ferryman.api import pipeline, status
from ferryman.domain import policy, records, text, timefmt

Reason = status.HoldReason
Action = status.HistoryAction
_ACTIONS = {
    Reason.HOLD: Action.HELD,
    Reason.PIN: Action.PINNED,
    Reason.ROLLBACK: Action.ROLLED_BACK,
}


class Refusal(enum.StrEnum):
    """Why an operator action cannot be recorded (the API maps each to an HTTP status)."""

    UNKNOWN_ENVIRONMENT = "UnknownEnvironment"  # 404: no such environment in the spec
    NOT_PROMOTABLE = "NotPromotable"  # 409: the first environment, or one without a strategy
    UNKNOWN_REVISION = "UnknownRevision"  # 422: never ran in the source or here (needs force)
    NO_EARLIER_REVISION = "NoEarlierRevision"  # 409: history holds no revision to go back to
    BAD_REVISION = "BadRevision"  # 422: not a revision a manifest can hold
    NOT_VERIFIABLE = "NotVerifiable"  # 409: no checks, or nothing ready to verify
    VERIFYING = "Verifying"  # 409: the checks of the revision are still running


class OperatorRefused(Exception):
    """The action cannot be recorded: ``refusal`` says why for code, the message for people."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


def describe(hold: status.HoldRecord) -> str:
    """Who holds the environment, since when and why (``PromotionPending``, CLI and UI)."""
    what = {
        Reason.HOLD: "held",
        Reason.PIN: f"pinned at {hold.revision}",
        Reason.ROLLBACK: f"rolled back to {hold.revision}",
    }[hold.reason]
    why = f": {hold.comment}" if hold.comment else ""
    return f"{what} by {hold.user} since {timefmt.iso(hold.at)}{why}"


def _environment(spec: pipeline.PipelineSpec, name: str) -> int:
    for index, env in enumerate(spec.environments):
        if env.name == name:
            return index
    raise OperatorRefused(Refusal.UNKNOWN_ENVIRONMENT, f'there is no environment "{name}"')


def _promotable(spec: pipeline.PipelineSpec, name: str) -> int:
    index = _environment(spec, name)
    if index == 0:
        raise OperatorRefused(
            Refusal.NOT_PROMOTABLE,
            f'"{name}" is the first environment: nothing is promoted into it',
        )
    if policy.effective(spec, spec.environments[index]).strategy is None:
        raise OperatorRefused(
            Refusal.NOT_PROMOTABLE, f'environment "{name}" has no promotion strategy'
        )
    return index


def _set_hold(
    current: status.PipelineStatus,
    environment: str,
    hold: status.HoldRecord | None,
    entry: status.HistoryEntry,
) -> status.PipelineStatus:
    env = current.environments.get(environment) or status.EnvironmentStatus()
    environments = {**current.environments, environment: env.model_copy(update={"hold": hold})}
    updated = current.model_copy(update={"environments": environments})
    return records.with_history(updated, entry)


def _entry(
    environment: str,
    action: status.HistoryAction,
    user: str,
    comment: str,
    at: datetime,
    *,
    revision: str = "",
) -> status.HistoryEntry:
    return status.HistoryEntry(
        environment=environment,
        revision=revision,
        action=action,
        at=at,
        by=user,
        comment=comment or None,
    )


def hold(
    current: status.PipelineStatus,
    spec: pipeline.PipelineSpec,
    environment: str,
    *,
    user: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """``environment`` held: nothing new is promoted into it (already held: unchanged)."""
    _promotable(spec, environment)
    env = current.environments.get(environment)
    if env is not None and env.hold is not None:
        return current
    at, comment = timefmt.truncate(now), text.bounded(comment, status.MAX_COMMENT_LENGTH)
    record = status.HoldRecord(reason=Reason.HOLD, user=user, at=at, comment=comment)
    return _set_hold(
        current, environment, record, _entry(environment, Action.HELD, user, comment, at)
    )


def unhold(
    current: status.PipelineStatus,
    spec: pipeline.PipelineSpec,
    environment: str,
    *,
    user: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """``environment`` released from a hold or pin (not held: unchanged)."""
    _environment(spec, environment)
    env = current.environments.get(environment)
    if env is None or env.hold is None:
        return current
    at, comment = timefmt.truncate(now), text.bounded(comment, status.MAX_COMMENT_LENGTH)
    revision = env.hold.revision or ""
    entry = _entry(environment, Action.UNHELD, user, comment, at, revision=revision)
    return _set_hold(current, environment, None, entry)


def ran(current: status.PipelineStatus, environments: Sequence[str]) -> tuple[str, ...]:
    """Revisions ``environments`` run now or ran (succeeded into, per history), newest first."""
    found: list[str] = []
    for name in environments:
        env = current.environments.get(name)
        if env is not None and env.revision and env.revision not in found:
            found.append(env.revision)
    for entry in current.history:
        if entry.phase is not status.PromotionPhase.SUCCEEDED:
            continue
        if entry.environment not in environments:
            continue
        for revision in (entry.revision, entry.replaced):
            if revision and revision not in found:
                found.append(revision)
    return tuple(found)


def allowed_revisions(
    current: status.PipelineStatus, spec: pipeline.PipelineSpec, environment: str
) -> tuple[str, ...]:
    """What ``promote`` accepts without force: revisions the source or the environment ran."""
    index = _promotable(spec, environment)
    return ran(current, [spec.environments[index - 1].name, environment])


def previous_revision(current: status.PipelineStatus, environment: str) -> str:
    """The revision ``environment`` ran before the one it runs now (from history)."""
    env = current.environments.get(environment)
    running = env.revision if env is not None else ""
    for entry in current.history:
        if entry.phase is not status.PromotionPhase.SUCCEEDED or entry.environment != environment:
            continue
        if entry.revision != running:
            return entry.revision
        if entry.replaced and entry.replaced != running:
            return entry.replaced  # what the promotion to the current revision replaced
    raise OperatorRefused(
        Refusal.NO_EARLIER_REVISION,
        f'history holds no revision "{environment}" ran before {running or "its current one"}',
    )


def pin(
    current: status.PipelineStatus,
    spec: pipeline.PipelineSpec,
    environment: str,
    *,
    revision: str,
    user: str,
    comment: str,
    now: datetime,
    force: bool = False,
    reason: status.HoldReason = Reason.PIN,
) -> status.PipelineStatus:
    """``environment`` held at ``revision``: promote it now (through approval and windows).

    Without ``force`` the revision must be one the source or the environment ran; the refusal
    lists those it accepts. The same pin again changes nothing.
    """
    if not revision or not revision.isprintable():
        raise OperatorRefused(Refusal.BAD_REVISION, "the revision must be printable and not empty")
    allowed = allowed_revisions(current, spec, environment)
    if not force and revision not in allowed:
        accepted = ", ".join(allowed) or "none yet"
        raise OperatorRefused(
            Refusal.UNKNOWN_REVISION,
            f'"{revision}" never ran in "{environment}" or its source (accepted: {accepted}); '
            "use force to promote it anyway",
        )
    env = current.environments.get(environment)
    held = env.hold if env is not None else None
    if held is not None and held.revision == revision and held.reason is reason:
        return current
    at, comment = timefmt.truncate(now), text.bounded(comment, status.MAX_COMMENT_LENGTH)
    record = status.HoldRecord(reason=reason, user=user, at=at, comment=comment, revision=revision)
    entry = _entry(environment, _ACTIONS[reason], user, comment, at, revision=revision)
    return _set_hold(current, environment, record, entry)


def rollback(
    current: status.PipelineStatus,
    spec: pipeline.PipelineSpec,
    environment: str,
    *,
    user: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """``pin`` at the revision the environment ran before its current one."""
    _promotable(spec, environment)
    revision = previous_revision(current, environment)
    return pin(
        current,
        spec,
        environment,
        revision=revision,
        user=user,
        comment=comment,
        now=now,
        force=True,  # a revision the environment itself ran is always acceptable
        reason=Reason.ROLLBACK,
    )
