"""What a finished promotion attempt means for its record: the "result" of intent → act → result.

The reconciler calls these after the strategy returns or raises, then writes the status with a
resourceVersion precondition; on a conflict it re-reads and applies the same function to the
fresh status, which is safe because each function checks the record is still the one it acted for
(a record superseded meanwhile is left alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from ferryman.api import status
from ferryman.domain import errors, records, text, timefmt

Phase = status.PromotionPhase

# The record's phase edges written here (``transitions.EDGES`` checks them against the diagram).
EDGES: Final[Mapping[str, frozenset[tuple[Phase | None, Phase]]]] = {
    "StrategySucceeded": frozenset({(Phase.PROMOTING, Phase.PROMOTED)}),
    "StrategyFailed": frozenset({(Phase.PROMOTING, Phase.PROMOTING)}),
    "StrategyFailedPermanently": frozenset({(Phase.PROMOTING, Phase.FAILED)}),
    "ChangeDiffers": frozenset({(Phase.PROMOTING, Phase.WAITING_APPROVAL)}),
}
PREVIEW_RETRY = timedelta(seconds=20)

FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)


def backoff(attempt: int, hint: timedelta | None = None) -> timedelta:
    """Delay before attempt ``attempt + 1``: 10 s doubling to 5 min, never below ``hint``."""
    delay: timedelta = min(FIRST_RETRY * 2 ** max(attempt - 1, 0), MAX_RETRY)
    return max(delay, hint) if hint is not None else delay


def _acting_record(
    current: status.PipelineStatus, environment: str, revision: str
) -> status.PromotionRecord | None:
    env = current.environments.get(environment)
    record = env.promotion if env is not None else None
    if record is None or record.revision != revision:
        return None
    if record.phase is not status.PromotionPhase.PROMOTING:
        return None
    return record


def record_success(
    current: status.PipelineStatus,
    environment: str,
    *,
    revision: str,
    result: status.PromotionResult,
) -> status.PipelineStatus:
    """``Promoted`` with what the strategy made; unchanged when the record moved on meanwhile."""
    record = _acting_record(current, environment, revision)
    if record is None:
        return current
    done = record.model_copy(
        update={
            "phase": status.PromotionPhase.PROMOTED,
            "result": result,
            "owner": None,
            "last_error": None,
            "last_error_reason": None,
            "next_attempt_at": None,
        }
    )
    return records.replace(current, environment, done)


def record_failure(
    current: status.PipelineStatus,
    environment: str,
    *,
    revision: str,
    error: errors.PromotionError,
    now: datetime,
) -> status.PipelineStatus:
    """A temporary error schedules a retry; a permanent one ends the record as ``Failed``."""
    record = _acting_record(current, environment, revision)
    if record is None:
        return current
    now = timefmt.truncate(now)
    failed = record.model_copy(
        update={"last_error": text.bounded(str(error)), "last_error_reason": _reason(error)}
    )
    if isinstance(error, errors.PermanentError):
        return records.finish(current, environment, failed, status.PromotionPhase.FAILED, now)
    hint = error.delay if isinstance(error, errors.TemporaryError) else None
    retry = failed.model_copy(
        update={"owner": None, "next_attempt_at": now + backoff(record.attempts, hint)}
    )
    return records.replace(current, environment, retry)


def _reason(error: errors.PromotionError) -> str:
    """The error's reason as status carries it: letters only, at most 64."""
    return "".join(char for char in error.reason if char.isalpha())[:64]


def record_change_differs(
    current: status.PipelineStatus,
    environment: str,
    *,
    revision: str,
    error: errors.ChangeDiffers,
    now: datetime,
) -> status.PipelineStatus:
    """The approvals were for another change: void them, show the new change, wait again."""
    record = _acting_record(current, environment, revision)
    if record is None:
        return current
    now = timefmt.truncate(now)
    waiting = record.model_copy(
        update={
            "phase": status.PromotionPhase.WAITING_APPROVAL,
            "approvals": (),
            "change": error.change,
            "approval_requested_at": now,
            "owner": None,
            "next_attempt_at": None,
            "last_error": text.bounded(str(error)),
        }
    )
    return records.replace(current, environment, waiting)


def _previewed_record(
    current: status.PipelineStatus, environment: str, revision: str
) -> status.PromotionRecord | None:
    env = current.environments.get(environment)
    record = env.promotion if env is not None else None
    if record is None or record.revision != revision or record.phase.finished:
        return None
    return record if record.change is None else None


def record_preview(
    current: status.PipelineStatus,
    environment: str,
    *,
    revision: str,
    outcome: status.ChangeSummary | errors.PromotionError,
    now: datetime,
) -> status.PipelineStatus:
    """The rendered change into the record, or the error and when to try again."""
    record = _previewed_record(current, environment, revision)
    if record is None:
        return current
    if isinstance(outcome, status.ChangeSummary):
        update: dict[str, object] = {"change": outcome, "last_error": None, "next_attempt_at": None}
    else:
        hint = outcome.delay if isinstance(outcome, errors.TemporaryError) else None
        wait = PREVIEW_RETRY if not isinstance(outcome, errors.PermanentError) else MAX_RETRY
        update = {
            "last_error": text.bounded(str(outcome)),
            "next_attempt_at": timefmt.truncate(now) + max(wait, hint or wait),
        }
    return records.replace(current, environment, record.model_copy(update=update))
