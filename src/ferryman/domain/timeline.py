"""A pipeline's recent past as spans of time per environment, and the figures of each arrival.

From status alone (``firstSeen``, ``history``, the open records; see ``domain.delivery``):

- **running** spans: the first environment ran each first-seen revision from its first-seen time
  until the next one; every other environment ran a revision from its ``Succeeded`` entry until
  the next (what it ran before its first one — the entry's ``replaced`` — from the start of the
  chart);
- **approval** spans: from the approval request to the quorum (or the rejection, expiry or
  supersession that ended the wait);
- **promoting** spans: from the first ``Promoting`` intent to the end of the promotion.

Open spans (still running, still waiting) end at ``Timeline.end``: the latest instant status
records — not the clock, so the same status always draws the same chart. ``arrivals`` are the
figures ``ferryman history --stats``, the UI and the metrics share: per finished promotion its
lead time, approval wait and promotion duration.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ferryman.api import status
from ferryman.domain import delivery

Phase = status.PromotionPhase


class Kind(enum.StrEnum):
    """What a span shows."""

    RUNNING = "running"  # the environment runs the revision
    APPROVAL = "approval"  # the promotion of the revision waits for approval
    PROMOTING = "promoting"  # the promotion is under way (PR, commit, event, rollout)


@dataclass(frozen=True)
class Span:
    """One bar of the chart: ``end`` ``None`` while it lasts."""

    environment: str
    revision: str
    kind: Kind
    start: datetime
    end: datetime | None = None
    outcome: str = ""  # how the promotion ended (approval and promoting spans)


@dataclass(frozen=True)
class Arrival:
    """A finished promotion and its figures (``None`` where status does not know)."""

    environment: str
    revision: str
    phase: Phase
    at: datetime
    lead_time: timedelta | None
    approval_wait: timedelta | None
    promotion: timedelta | None
    by: str | None


@dataclass(frozen=True)
class Timeline:
    """Every span, in environment order then time, and the instants the chart spans."""

    environments: tuple[str, ...]
    spans: tuple[Span, ...]
    start: datetime | None
    end: datetime | None


def _chronological(current: status.PipelineStatus) -> list[tuple[status.HistoryEntry, Phase]]:
    """Finished promotions in history (not operator actions), oldest first, with their phase."""
    found = [(e, e.phase) for e in current.history if e.phase is not None]
    return sorted(found, key=lambda pair: pair[0].at)


def _waited_until(entry: status.HistoryEntry) -> datetime:
    """When the approval wait of a finished promotion ended."""
    return entry.approved_at or entry.started_at or entry.at


def _finished_spans(entry: status.HistoryEntry, outcome: str) -> list[Span]:
    spans: list[Span] = []
    if entry.approval_requested_at is not None:
        spans.append(
            Span(
                entry.environment,
                entry.revision,
                Kind.APPROVAL,
                entry.approval_requested_at,
                _waited_until(entry),
                outcome,
            )
        )
    if entry.started_at is not None:
        spans.append(
            Span(
                entry.environment,
                entry.revision,
                Kind.PROMOTING,
                entry.started_at,
                entry.at,
                outcome,
            )
        )
    return spans


def _open_spans(environment: str, record: status.PromotionRecord | None) -> list[Span]:
    """The spans of a promotion under way (their ``end`` ``None`` while they last)."""
    if record is None or record.phase.finished:
        return []
    spans: list[Span] = []
    if record.approval_requested_at is not None:
        waited = record.approvals[-1].at if record.approvals else record.started_at
        if record.phase is Phase.WAITING_APPROVAL:
            waited = None
        spans.append(
            Span(environment, record.revision, Kind.APPROVAL, record.approval_requested_at, waited)
        )
    if record.started_at is not None and record.phase in (Phase.PROMOTING, Phase.PROMOTED):
        spans.append(Span(environment, record.revision, Kind.PROMOTING, record.started_at))
    return spans


def _running(environment: str, runs: Sequence[tuple[str, datetime]]) -> list[Span]:
    """Consecutive running spans from (revision, since) pairs in time order."""
    spans = []
    for index, (revision, since) in enumerate(runs):
        until = runs[index + 1][1] if index + 1 < len(runs) else None
        spans.append(Span(environment, revision, Kind.RUNNING, since, until))
    return spans


def _first_environment(current: status.PipelineStatus, name: str) -> list[Span]:
    runs = sorted(((e.revision, e.at) for e in current.first_seen), key=lambda run: run[1])
    return _running(name, runs)


def _later_environment(
    current: status.PipelineStatus,
    name: str,
    entries: Sequence[tuple[status.HistoryEntry, Phase]],
    start: datetime,
) -> list[Span]:
    mine = [(entry, phase) for entry, phase in entries if entry.environment == name]
    arrived = [entry for entry, phase in mine if phase is Phase.SUCCEEDED]
    runs = [(e.revision, e.at) for e in arrived]
    env = current.environments.get(name)
    before = arrived[0].replaced if arrived else (env.revision if env is not None else "")
    if before and (not runs or runs[0][1] > start):
        runs.insert(0, (before, start))
    spans = _running(name, runs)
    for entry, phase in mine:
        spans.extend(_finished_spans(entry, phase.value))
    return spans + _open_spans(name, env.promotion if env is not None else None)


def _instants(current: status.PipelineStatus) -> list[datetime]:
    """Every instant status records (where the chart can start and must end)."""
    found = [e.at for e in current.first_seen]
    for entry in current.history:
        found += [entry.at, *(t for t in (entry.approval_requested_at, entry.started_at) if t)]
    for env in current.environments.values():
        found += [env.ready_since] if env.ready_since else []
        record = env.promotion
        if record is not None:
            found += [record.requested_at, *(a.at for a in record.approvals)]
            moments = (record.approval_requested_at, record.started_at, record.finished_at)
            found += [moment for moment in moments if moment is not None]
    return found


def build(environments: Sequence[str], current: status.PipelineStatus) -> Timeline:
    """The timeline of ``current`` for the spec's environments, in order (module doc)."""
    names = tuple(environments)
    moments = _instants(current)
    if not names or not moments:
        return Timeline(names, (), None, None)
    start, end = min(moments), max(moments)
    entries = _chronological(current)
    spans = _first_environment(current, names[0])
    for name in names[1:]:
        spans += _later_environment(current, name, entries, start)
    return Timeline(names, tuple(spans), start, end)


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None or start > end:
        return None
    return end - start


def arrivals(current: status.PipelineStatus) -> tuple[Arrival, ...]:
    """Every finished promotion in history, oldest first, with its figures."""
    found = []
    for entry, phase in _chronological(current):
        succeeded = phase is Phase.SUCCEEDED
        seen = delivery.first_seen(current, entry.revision)
        lead = _between(seen, entry.at) if succeeded else None
        if phase is Phase.REJECTED:
            waited = _between(entry.approval_requested_at, entry.at)
        else:
            waited = _between(entry.approval_requested_at, entry.approved_at)
        took = _between(entry.started_at, entry.at) if succeeded else None
        found.append(
            Arrival(
                entry.environment, entry.revision, phase, entry.at, lead, waited, took, entry.by
            )
        )
    return tuple(found)


_UNITS: Final = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def words(span: timedelta) -> str:
    """A duration as people say it, in its two largest units: ``45 s``, ``3 min 20 s``,
    ``2 h 5 min``, ``3 d 4 h``."""
    seconds = max(int(span.total_seconds()), 0)
    for index, (name, size) in enumerate(_UNITS[:-1]):
        if seconds >= size:
            major, rest = divmod(seconds, size)
            minor_name, minor_size = _UNITS[index + 1]
            minor = rest // minor_size
            return f"{major} {name}" + (f" {minor} {minor_name}" if minor else "")
    return f"{seconds} s"


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The median of ``values`` (``None`` for none)."""
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def sentence(arrival: Arrival, first: str) -> str:
    """One arrival in words, for screen readers and the CLI."""
    where = f"{arrival.revision} into {arrival.environment}"
    if arrival.phase is not Phase.SUCCEEDED:
        what = f"The promotion of {where} ended {arrival.phase.value}"
        if arrival.approval_wait is not None:
            what += f" after waiting {words(arrival.approval_wait)} for approval"
        return what + "."
    what = f"{arrival.revision} reached {arrival.environment}"
    if arrival.lead_time is not None:
        what += f" {words(arrival.lead_time)} after {first} first ran it"
    details = []
    if arrival.approval_wait is not None:
        details.append(f"{words(arrival.approval_wait)} waiting for approval")
    if arrival.promotion is not None:
        details.append(f"the promotion took {words(arrival.promotion)}")
    return what + (f" ({'; '.join(details)})" if details else "") + "."
