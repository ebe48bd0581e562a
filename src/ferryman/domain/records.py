"""Edits of one environment's promotion record, keeping the compat mirror and history in step.

Every change of a record goes through ``replace`` or ``finish`` so that
``environments.<env>.waitingApproval`` (the original controller's field) always mirrors
``promotion.phase == WaitingApproval`` and every finished promotion lands in ``history`` once.
"""

from __future__ import annotations

from datetime import datetime

from ferryman.api import status


def mirror(record: status.PromotionRecord | None) -> status.WaitingApproval | None:
    """The compat field ``waitingApproval`` for ``record``: set only while it waits."""
    if record is not None and record.phase is status.PromotionPhase.WAITING_APPROVAL:
        return status.WaitingApproval(revision=record.revision)
    return None


def replace(
    current: status.PipelineStatus, environment: str, record: status.PromotionRecord | None
) -> status.PipelineStatus:
    """``current`` with the record of ``environment`` replaced (the mirror follows)."""
    env = current.environments.get(environment) or status.EnvironmentStatus()
    env = env.model_copy(update={"promotion": record, "waiting_approval": mirror(record)})
    return current.model_copy(update={"environments": {**current.environments, environment: env}})


def history_entry(
    environment: str, record: status.PromotionRecord, at: datetime, by: str | None
) -> status.HistoryEntry:
    """The history line for a finished record."""
    url = record.result.url if record.result is not None else None
    commit = record.result.commit if record.result is not None and not url else None
    # The quorum was reached when the promotion started after approvals (domain.states: the
    # Approved state is momentary and followed by ReadyToPromote in the same pass).
    approved = record.approvals[-1].at if record.approvals and record.started_at else None
    # The deciding person's words stay with the entry (the record itself is replaced later).
    said = record.approvals[-1].comment if record.approvals else ""
    if record.rejection is not None:
        said = record.rejection.comment
    return status.HistoryEntry(
        environment=environment,
        revision=record.revision,
        phase=record.phase,
        at=at,
        by=by,
        url=url,
        commit=commit,
        trigger=record.trigger,
        replaced=record.replaces,
        comment=said or None,
        approval_requested_at=record.approval_requested_at,
        approved_at=approved,
        started_at=record.started_at,
    )


def with_history(
    current: status.PipelineStatus, entry: status.HistoryEntry
) -> status.PipelineStatus:
    """``current`` with ``entry`` first in ``history`` (bounded, oldest dropped)."""
    history = (entry, *current.history)[: status.MAX_HISTORY]
    return current.model_copy(update={"history": history})


def finish(
    current: status.PipelineStatus,
    environment: str,
    record: status.PromotionRecord,
    phase: status.PromotionPhase,
    at: datetime,
    *,
    by: str | None = None,
) -> status.PipelineStatus:
    """End ``record`` in ``phase`` (a finished phase) and add it to the front of ``history``."""
    done = record.model_copy(
        update={"phase": phase, "finished_at": at, "owner": None, "next_attempt_at": None}
    )
    updated = replace(current, environment, done)
    return with_history(updated, history_entry(environment, done, at, by))


def last_approver(record: status.PromotionRecord) -> str | None:
    """The user whose approval completed the record, if any."""
    return record.approvals[-1].user if record.approvals else None
