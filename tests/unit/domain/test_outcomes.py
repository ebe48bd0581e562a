"""What a strategy's success or failure does to the promotion record (intent -> act -> result)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.domain import errors, outcomes

Phase = status.PromotionPhase
RESULT = status.PromotionResult(url="https://github.com/org/fleet/pull/7", number=7)


def acting(attempts: int = 1, **fields: Any) -> status.PipelineStatus:
    rec = b.record(
        "1.1", Phase.PROMOTING, owner=b.ME, attempts=attempts, last_error="old", **fields
    )
    return b.with_records(prod=rec)


def prod(current: status.PipelineStatus) -> status.PromotionRecord:
    rec = current.environments["prod"].promotion
    assert rec is not None
    return rec


@pytest.mark.parametrize(
    ("attempt", "hint", "expected"),
    [
        (0, None, 10),
        (1, None, 10),
        (2, None, 20),
        (4, None, 80),
        (6, None, 300),
        (30, None, 300),
        (1, timedelta(minutes=2), 120),
        (4, timedelta(seconds=5), 80),
    ],
)
def test_backoff_doubles_up_to_five_minutes_and_honours_retry_after(
    attempt: int, hint: timedelta | None, expected: int
) -> None:
    """10 s, 20 s, 40 s ... capped at 5 min, never sooner than the server asked."""
    assert outcomes.backoff(attempt, hint) == timedelta(seconds=expected)


def test_success_records_promoted_with_the_result() -> None:
    """Promoted, with what the strategy made; owner and error cleared."""
    rec = prod(outcomes.record_success(acting(), "prod", revision="1.1", result=RESULT))
    assert (rec.phase, rec.result, rec.owner, rec.last_error, rec.next_attempt_at) == (
        Phase.PROMOTED,
        RESULT,
        None,
        None,
        None,
    )


def test_temporary_failure_schedules_a_retry() -> None:
    """Still Promoting, without owner, retried after the backoff (whole seconds)."""
    error = errors.TemporaryError("HTTP 503 from GitHub")
    after = outcomes.record_failure(
        acting(attempts=2), "prod", revision="1.1", error=error, now=b.NOW.replace(microsecond=5)
    )
    rec = prod(after)
    assert (rec.phase, rec.owner, rec.last_error, rec.next_attempt_at) == (
        Phase.PROMOTING,
        None,
        "HTTP 503 from GitHub",
        b.later(seconds=20),
    )
    assert error.reason == "TemporaryFailure"


def test_temporary_failure_honours_the_delay_hint() -> None:
    """A Retry-After longer than the backoff wins."""
    error = errors.TemporaryError("rate limited", delay=timedelta(minutes=3))
    rec = prod(outcomes.record_failure(acting(), "prod", revision="1.1", error=error, now=b.NOW))
    assert rec.next_attempt_at == b.later(minutes=3)


def test_a_plain_promotion_error_is_retried_like_a_temporary_one() -> None:
    """Unclassified errors are retried (with the default backoff)."""
    error = errors.PromotionError("boom")
    rec = prod(outcomes.record_failure(acting(), "prod", revision="1.1", error=error, now=b.NOW))
    assert (rec.phase, rec.next_attempt_at) == (Phase.PROMOTING, b.later(seconds=10))
    assert error.reason == "PromotionFailed"


def test_permanent_failure_ends_the_record_as_failed() -> None:
    """No retry can help: Failed, with a bounded error, in history."""
    error = errors.PermanentError("x" * 3000, reason="BadCredentials")
    after = outcomes.record_failure(acting(), "prod", revision="1.1", error=error, now=b.NOW)
    rec = prod(after)
    assert (rec.phase, rec.finished_at, len(rec.last_error or "")) == (
        Phase.FAILED,
        b.NOW,
        status.MAX_ERROR_LENGTH,
    )
    assert after.history[0].phase is Phase.FAILED
    assert error.reason == "BadCredentials"
    assert rec.last_error_reason == "BadCredentials"


def test_the_reason_lands_in_the_record_and_leaves_on_success() -> None:
    """Issue 21 item 4: the failure's reason is in status, not only on the Event."""
    error = errors.PermanentError("git fetch failed: ...", reason="HostKeyMismatch")
    failed = prod(outcomes.record_failure(acting(), "prod", revision="1.1", error=error, now=b.NOW))
    retried = outcomes.record_failure(
        acting(),
        "prod",
        revision="1.1",
        error=errors.TemporaryError("x", reason="Git-Failed"),
        now=b.NOW,
    )
    done = outcomes.record_success(
        acting(last_error_reason="GitFailed"), "prod", revision="1.1", result=RESULT
    )
    assert failed.last_error_reason == "HostKeyMismatch"
    assert prod(retried).last_error_reason == "GitFailed"
    assert prod(done).last_error_reason is None


@pytest.mark.parametrize(
    "current",
    [
        pytest.param(status.PipelineStatus(), id="no such environment"),
        pytest.param(acting().model_copy(update={"environments": {}}), id="no record"),
        pytest.param(b.with_records(prod=b.record("1.2", Phase.PROMOTING)), id="newer revision"),
        pytest.param(b.with_records(prod=b.record("1.1", Phase.SUPERSEDED)), id="superseded"),
    ],
)
def test_outcomes_leave_a_record_that_moved_on_alone(current: status.PipelineStatus) -> None:
    """Applied to a fresh status after a conflict, an outcome for an old intent changes nothing."""
    error = errors.TemporaryError("late")
    assert outcomes.record_success(current, "prod", revision="1.1", result=RESULT) is current
    after = outcomes.record_failure(current, "prod", revision="1.1", error=error, now=b.NOW)
    assert after is current
