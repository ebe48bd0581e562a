"""Delivery figures from status alone: when revisions first ran, and what each write measured.

A revision's **lead time** into an environment runs from the moment the first environment first
ran it ready (``status.firstSeen``, which ``note_first_seen`` keeps on every ``decide()``) to the
moment that environment runs it ready (its promotion record ``Succeeded``). The **approval wait**
runs from the approval request to the decision (the approval that completed the quorum, or the
rejection); the **promotion duration** from the first ``Promoting`` intent to ``Succeeded``. Every
instant comes from status, so the figures survive restarts and leader changes.

``measures(before, after)`` says what one status write measured: a finished promotion (a new
``history`` entry: its outcome and, for ``Succeeded``, lead time and duration; for ``Rejected``,
the approval wait), an operator's rollback (a ``RolledBack`` entry), or an approval quorum (a
record leaving ``WaitingApproval`` for ``Approved``/``Promoting``). Whoever writes a status calls
it with the status it read and the one it wrote, *after* the write succeeded — the controller's
leader for ``decide()`` and strategy outcomes, the server for approvals, rejections and operator
actions — so each transition is measured once: a write that loses a conflict measured nothing,
and whoever decides again from the written status finds the transition already made.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ferryman.api import status
from ferryman.domain import revisions

Phase = status.PromotionPhase
_APPROVED = frozenset({Phase.APPROVED, Phase.PROMOTING})


class Figure(enum.StrEnum):
    """What a duration measures (one histogram each)."""

    LEAD_TIME = "lead_time"  # first environment ran it ready → this environment runs it ready
    APPROVAL_WAIT = "approval_wait"  # approval requested → approved or rejected
    PROMOTION_DURATION = "promotion_duration"  # promotion started → environment runs it ready


class Outcome(enum.StrEnum):
    """How a promotion into an environment ended (``ferryman_promotion_outcomes_total``)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    REJECTED = "Rejected"
    EXPIRED = "Expired"
    SUPERSEDED = "Superseded"
    ROLLED_BACK = "RolledBack"  # an operator rolled the environment back


@dataclass(frozen=True)
class Duration:
    """A duration measured in ``environment``."""

    figure: Figure
    environment: str
    seconds: float


@dataclass(frozen=True)
class Ended:
    """A promotion into ``environment`` ended with ``outcome``."""

    environment: str
    outcome: Outcome


Measure = Duration | Ended


def first_seen(current: status.PipelineStatus, revision: str) -> datetime | None:
    """When the first environment first ran ``revision`` ready, if status still knows."""
    for entry in current.first_seen:
        if revisions.same(entry.revision, revision):
            return entry.at
    return None


def _in_flight(current: status.PipelineStatus) -> set[str]:
    """Identities of revisions an environment runs or an open record promotes."""
    found: set[str] = set()
    for env in current.environments.values():
        if env.revision:
            found.add(revisions.identity(env.revision))
        record = env.promotion
        if record is not None and not record.phase.finished:
            found.add(revisions.identity(record.revision))
    return found


def _bounded(
    current: status.PipelineStatus, entries: Sequence[status.FirstSeen]
) -> tuple[status.FirstSeen, ...]:
    """At most ``MAX_FIRST_SEEN`` entries: those of revisions no longer in flight go first,
    oldest first, then the oldest of the rest."""
    kept = list(entries)
    live = _in_flight(current)
    for entry in reversed(entries):
        if len(kept) <= status.MAX_FIRST_SEEN:
            break
        if revisions.identity(entry.revision) not in live:
            kept.remove(entry)
    return tuple(kept[: status.MAX_FIRST_SEEN])


def note_first_seen(
    current: status.PipelineStatus, environment: str, now: datetime
) -> status.PipelineStatus:
    """``current`` with the revision ``environment`` (the first one) runs ready noted as first
    seen at the start of its ready streak, unless it is noted already."""
    env = current.environments.get(environment)
    if env is None or not env.ready or not env.revision:
        return current
    if first_seen(current, env.revision) is not None:
        return current
    entry = status.FirstSeen(revision=env.revision, at=env.ready_since or now)
    return current.model_copy(
        update={"first_seen": _bounded(current, (entry, *current.first_seen))}
    )


def new_entries(
    before: Sequence[status.HistoryEntry], after: Sequence[status.HistoryEntry]
) -> tuple[status.HistoryEntry, ...]:
    """The entries ``after`` has in front of ``before``'s newest, oldest first.

    History only grows at the front (and loses its oldest), so they are what one write added. When
    ``before``'s newest is gone (history rewritten by hand), entries after its time count.
    """
    if not before:
        return tuple(reversed(after))
    try:
        cut = list(after).index(before[0])
    except ValueError:
        return tuple(entry for entry in reversed(after) if entry.at > before[0].at)
    return tuple(reversed(after[:cut]))


def _seconds(start: datetime | None, end: datetime) -> float | None:
    """``end - start`` in seconds, ``None`` without a start or when the clock went back."""
    if start is None or start > end:
        return None
    return (end - start).total_seconds()


def _durations(entry: status.HistoryEntry, after: status.PipelineStatus) -> tuple[Duration, ...]:
    env = entry.environment
    if entry.phase is Phase.REJECTED:
        moments = [(Figure.APPROVAL_WAIT, entry.approval_requested_at)]
    elif entry.phase is Phase.SUCCEEDED:
        moments = [
            (Figure.LEAD_TIME, first_seen(after, entry.revision)),
            (Figure.PROMOTION_DURATION, entry.started_at),
        ]
    else:
        moments = []
    found = ((figure, _seconds(start, entry.at)) for figure, start in moments)
    return tuple(Duration(figure, env, seconds) for figure, seconds in found if seconds is not None)


def _finished(entry: status.HistoryEntry, after: status.PipelineStatus) -> tuple[Measure, ...]:
    """What a new history entry measured."""
    if entry.action is status.HistoryAction.ROLLED_BACK:
        return (Ended(entry.environment, Outcome.ROLLED_BACK),)
    if entry.phase is None or not entry.phase.finished:
        return ()
    return (Ended(entry.environment, Outcome(entry.phase.value)), *_durations(entry, after))


def _approved(
    environment: str,
    before: status.PromotionRecord | None,
    after: status.PromotionRecord | None,
) -> tuple[Measure, ...]:
    """The approval wait of a record that left ``WaitingApproval`` with its quorum."""
    if before is None or after is None or before.phase is not Phase.WAITING_APPROVAL:
        return ()
    same = (before.revision, before.requested_at) == (after.revision, after.requested_at)
    if not same or after.phase not in _APPROVED or not after.approvals:
        return ()
    seconds = _seconds(after.approval_requested_at, after.approvals[-1].at)
    return (Duration(Figure.APPROVAL_WAIT, environment, seconds),) if seconds is not None else ()


def measures(before: status.PipelineStatus, after: status.PipelineStatus) -> tuple[Measure, ...]:
    """What writing ``after`` over ``before`` measured (see the module docstring)."""
    found: list[Measure] = []
    for entry in new_entries(before.history, after.history):
        found.extend(_finished(entry, after))
    for name, env in after.environments.items():
        previous = before.environments.get(name)
        found.extend(_approved(name, previous.promotion if previous else None, env.promotion))
    return tuple(found)
