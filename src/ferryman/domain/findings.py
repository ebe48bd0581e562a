"""What one step of a verification check found, and how that changes the check: the "result" of
intent → act → result for checks.

The reconciler carries out a ``Check`` action through the controller's verifier, which answers
with a ``Finding``: a ``Sample`` (a Prometheus value), ``Started`` (the Jobs exist), an
``Answer`` (a verdict: the Jobs finished, the webhook answered, the commit's statuses settled —
or ``passed=None``: not yet), or a ``domain.errors`` error. ``record`` applies it to the status
the reconciler read, and changes nothing when the verification moved on meanwhile (another
revision or run, or the check already finished), so applying it again after a conflict is safe.

Jobs and commit statuses are read again sooner while young, later when they take long
(``poll_after``). Retry meaning: a ``PermanentError`` fails the check at once; a temporary one
counts in ``errors`` and the step is tried again after a backoff (10 s doubling to 5 min) — a
Prometheus check fails after 4 errors in a row (Argo Rollouts' default
``consecutiveErrorLimit``), a webhook after ``1 + retries`` failed calls, Jobs and commit
statuses at their timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ferryman.api import durations, status
from ferryman.api import verification as checks
from ferryman.domain import actions, errors, outcomes, text, thresholds, timefmt, verification

Phase = checks.CheckPhase
MAX_PROMETHEUS_ERRORS: Final = 4
DEFAULT_RETRIES: Final = 3
DEFAULT_INTERVAL: Final = "1m"
# Jobs and commit statuses are read again after a sixth of the time they have taken so far,
# between 5 s and 1 min: a quick Job is seen finishing within seconds, a long one costs a read
# (and a status write) a minute, not six.
FIRST_POLL: Final = timedelta(seconds=5)
MAX_POLL: Final = timedelta(minutes=1)


def poll_after(check: checks.CheckStatus, now: datetime) -> datetime:
    """When to read a running Job or commit check again."""
    elapsed = now - check.started_at if check.started_at is not None else timedelta(0)
    return now + min(max(elapsed / 6, FIRST_POLL), MAX_POLL)


@dataclass(frozen=True)
class Sample:
    """A Prometheus query's value."""

    value: float


@dataclass(frozen=True)
class Started:
    """The check's Jobs exist (created now or found from an earlier attempt)."""

    count: int
    message: str


@dataclass(frozen=True)
class Answer:
    """A verdict: ``True`` passed, ``False`` failed, ``None`` not decided yet (look again)."""

    passed: bool | None
    message: str
    value: str = ""
    count: int | None = None  # what was counted (statuses seen, Jobs finished), if anything


Finding = Sample | Started | Answer | errors.PromotionError


def record(
    current: status.PipelineStatus,
    *,
    action: actions.Check,
    spec: checks.Check,
    finding: Finding,
    now: datetime,
) -> status.PipelineStatus:
    """``current`` with ``finding`` applied to the check ``action`` stepped (see module doc)."""
    env = current.environments.get(action.environment)
    found = env.verification if env is not None else None
    if found is None or (found.revision, found.run) != (action.revision, action.run):
        return current
    check = found.check(action.check)
    if check is None or check.phase.finished:
        return current
    now = timefmt.truncate(now)
    updated = _applied(spec, check, finding, now)
    return verification.with_verification(
        current, action.environment, verification.with_check(found, updated)
    )


def _applied(
    spec: checks.Check, check: checks.CheckStatus, finding: Finding, now: datetime
) -> checks.CheckStatus:
    if isinstance(finding, errors.PromotionError):
        return _failed_step(spec, check, finding, now)
    if isinstance(finding, Sample):
        return _sampled(spec, check, finding.value, now)
    if isinstance(finding, Started):
        return check.model_copy(
            update={
                "count": min(finding.count, checks.MAX_COUNTER),
                "errors": 0,
                "next_at": poll_after(check, now),
                "message": text.bounded(finding.message, checks.MAX_CHECK_MESSAGE),
            }
        )
    return _answered(check, finding, now)


def _answered(check: checks.CheckStatus, answer: Answer, now: datetime) -> checks.CheckStatus:
    update: dict[str, object] = {"errors": 0}
    if answer.value:
        update["value"] = text.bounded(answer.value, checks.MAX_CHECK_VALUE)
    if answer.count is not None:
        update["count"] = min(answer.count, checks.MAX_COUNTER)
    checked = check.model_copy(update=update)
    if answer.passed is None:
        message = text.bounded(answer.message, checks.MAX_CHECK_MESSAGE)
        return checked.model_copy(update={"next_at": poll_after(check, now), "message": message})
    phase = Phase.PASSED if answer.passed else Phase.FAILED
    return verification.finish(checked, phase, answer.message, now)


def _sampled(
    spec: checks.Check, check: checks.CheckStatus, value: float, now: datetime
) -> checks.CheckStatus:
    """One Prometheus measurement: count it, judge it, schedule the next or finish."""
    rule = spec.prometheus
    if rule is None:  # the check changed kind under the same name: ignore a stale sample
        return check
    threshold = thresholds.parse(rule.threshold)
    held = threshold.holds(value)
    count = min(check.count + 1, checks.MAX_COUNTER)
    failed = check.failed + (0 if held else 1)
    shown = thresholds.format_value(value)
    measured = check.model_copy(
        update={"count": count, "failed": failed, "errors": 0, "value": shown}
    )
    wanted, limit = rule.count or 1, rule.failure_limit or 0
    if failed > limit:
        message = f"{shown} is not {threshold} ({failed} of {count} measurements failed)"
        return verification.finish(measured, Phase.FAILED, message, now)
    if count >= wanted:
        message = f"{count} measurement(s) {threshold}, last {shown}"
        return verification.finish(measured, Phase.PASSED, message, now)
    interval = durations.parse(rule.interval or DEFAULT_INTERVAL)
    message = f"measurement {count} of {wanted}: {shown}"
    return measured.model_copy(update={"next_at": now + interval, "message": message})


def _error_limit(spec: checks.Check) -> int | None:
    """Failed attempts in a row after which the check fails (``None``: its timeout decides)."""
    if spec.prometheus is not None:
        return MAX_PROMETHEUS_ERRORS
    if spec.webhook is not None:
        retries = spec.webhook.retries
        return 1 + (DEFAULT_RETRIES if retries is None else retries)
    return None


def _failed_step(
    spec: checks.Check, check: checks.CheckStatus, error: errors.PromotionError, now: datetime
) -> checks.CheckStatus:
    """An error: a permanent one fails the check; a temporary one is retried, up to a limit."""
    message = str(error)
    if isinstance(error, errors.PermanentError):
        return verification.finish(check, Phase.FAILED, message, now)
    count = min(check.errors + 1, checks.MAX_COUNTER)
    limit = _error_limit(spec)
    if limit is not None and count >= limit:
        return verification.finish(
            check.model_copy(update={"errors": count}),
            Phase.FAILED,
            f"gave up after {count} errors: {message}",
            now,
        )
    hint = error.delay if isinstance(error, errors.TemporaryError) else None
    retry = now + outcomes.backoff(min(count, 8), hint)  # 8: already the 5 min ceiling
    if spec.prometheus is not None:  # measurements keep their rhythm
        interval = durations.parse(spec.prometheus.interval or DEFAULT_INTERVAL)
        retry = now + max(interval, hint or interval)
    return check.model_copy(
        update={
            "errors": count,
            "next_at": retry,
            "message": text.bounded(message, checks.MAX_CHECK_MESSAGE),
        }
    )
