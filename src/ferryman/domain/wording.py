"""One vocabulary for people: what the list, the pipeline page, the CLI and the docs call things.

Status keeps machine words (``WaitingApproval``, ``Succeeded``) for code, kubectl columns and
``data-phase`` attributes; whatever a person reads goes through these functions, so the page
cannot say "Succeeded / running" while the CLI says "WaitingApproval" for the same record.
"""

from __future__ import annotations

from datetime import datetime

from ferryman.api import status

Phase = status.PromotionPhase

PHASE_LABELS = {
    Phase.PENDING: "Waiting for gates",
    Phase.WAITING_APPROVAL: "Waiting for approval",
    Phase.APPROVED: "Approved",
    Phase.REJECTED: "Rejected",
    Phase.EXPIRED: "Approval expired",
    Phase.PROMOTING: "Promoting",
    Phase.PROMOTED: "Rolling out",  # PR opened / commit pushed; the environment has yet to run it
    Phase.SUCCEEDED: "Promoted",  # the environment runs the revision, healthy everywhere
    Phase.FAILED: "Failed",
    Phase.SUPERSEDED: "Superseded",
}

ACTION_LABELS = {
    status.HistoryAction.HELD: "Held",
    status.HistoryAction.UNHELD: "Unheld",
    status.HistoryAction.PINNED: "Pinned",
    status.HistoryAction.ROLLED_BACK: "Rolled back",
    status.HistoryAction.VERIFY_REQUESTED: "Checks run again",
}

HEALTHY = "healthy"
NO_DATA = "no data yet"


def phase_label(phase: status.PromotionPhase) -> str:
    """``WaitingApproval`` as people read it: ``Waiting for approval``."""
    return PHASE_LABELS[phase]


def history_label(entry: status.HistoryEntry) -> str:
    """A history entry's result: ``Promoted``, ``Promoted (rollback)``, ``Held``..."""
    if entry.phase is not None:
        what = phase_label(entry.phase)
    elif entry.action is not None:
        what = ACTION_LABELS[entry.action]
    else:
        what = ""
    return f"{what} ({entry.trigger.value.lower()})" if entry.trigger is not None else what


def health(env: status.EnvironmentStatus | None) -> str:
    """An environment's health: ``healthy``, ``not healthy: <why>`` or ``no data yet``."""
    if env is None or not env.targets:
        return NO_DATA
    if env.ready:
        return HEALTHY
    errors = [t.error for t in env.targets if t.error]
    return "not healthy: " + "; ".join(errors) if errors else "not healthy"


def in_flight(record: status.PromotionRecord | None) -> str:
    """What moves into an environment, for the arrow between it and its source:
    ``6.2.0 waiting for approval``, ``6.2.0 promoting``; ``""`` when nothing does."""
    if record is None or record.phase.finished:
        return ""
    return f"{record.revision} {phase_label(record.phase).lower()}"


def duration(seconds: int) -> str:
    """``90`` → ``1 min 30 s``; ``7200`` → ``2 h`` (a setting, not a countdown)."""
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts) or "0 s"


def utc(moment: datetime) -> str:
    """An absolute time as people read it: ``2026-11-28 16:00:05 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
