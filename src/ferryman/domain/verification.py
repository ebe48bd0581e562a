"""An environment's verification: start its checks for the revision it runs, step them, judge.

Every pass, ``advance`` looks at each environment that has checks (its own
``verification.checks``, else ``spec.verification.checks``):

- when the environment runs a revision ready everywhere and its verification is for another
  revision (or it has none), a fresh one starts for that revision (run 1); ``ferryman verify``
  (``rerun``) starts the next run of the same revision. The checks start together and run in
  parallel; the next environment's soak time runs alongside (it counts from ``readySince``);
- a check whose next step is due (``nextAt`` passed, or unset) takes it: ``observe`` steps
  (measure a Prometheus query, read the Jobs, read the commit's statuses) are reads the
  reconciler may repeat; ``start`` steps (create the Jobs, call the webhook) are side effects,
  so the step first writes its intent — ``nextAt`` a lease ahead, so deciding again does not
  start it twice, and a dead controller's step is taken up again once the lease ends;
- a check that cannot finish any more fails here: past its ``timeout`` (Jobs, commit
  statuses), or a commit check with no promotion commit to read.

What a step found is recorded by ``findings.record`` (the "result" of intent → act → result).
The verification's ``phase`` is ``Failed`` as soon as one check failed, ``Passed`` once all
passed; ``verdict`` says what that means for promoting a revision out of the environment, and
``states`` gates the next environment on it (``Verifying``, ``VerificationFailed``). A newer
revision is verified afresh, so a fix can flow while a failed revision stays blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ferryman.api import durations, pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import actions, holds, records, text, timefmt

Phase = checks.CheckPhase
Kind = checks.CheckKind
LEASE: Final = timedelta(minutes=2)  # a start step's intent: retried after this if no result
DEFAULT_TIMEOUT: Final = "30m"  # Jobs and commit statuses


@dataclass(frozen=True)
class Advance:
    """The status after one pass's verification steps, the check actions due, when to wake."""

    status: status.PipelineStatus
    actions: tuple[actions.Action, ...] = ()
    wake: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class _Stepped:
    check: checks.CheckStatus
    actions: tuple[actions.Action, ...] = ()
    wake: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What an environment's verification means for promoting ``revision`` out of it."""

    passed: bool
    failed: bool = False
    message: str = ""


PASSED: Final = Verdict(passed=True)


def checks_for(
    spec: pipeline.PipelineSpec, environment: pipeline.Environment
) -> tuple[checks.Check, ...]:
    """The checks of ``environment``: its own block, else the pipeline-wide default."""
    block = environment.verification if environment.verification is not None else spec.verification
    return block.checks if block is not None else ()


def check_named(spec: pipeline.PipelineSpec, environment: str, name: str) -> checks.Check | None:
    """The check ``name`` of ``environment`` as the spec defines it now (``None``: gone)."""
    env = spec.environment(environment)
    found = checks_for(spec, env) if env is not None else ()
    return next((check for check in found if check.name == name), None)


def phase_of(found: Sequence[checks.CheckStatus]) -> checks.CheckPhase:
    """``Failed`` when one check failed, ``Passed`` when all passed, else ``Running``."""
    if any(check.phase is Phase.FAILED for check in found):
        return Phase.FAILED
    if found and all(check.phase is Phase.PASSED for check in found):
        return Phase.PASSED
    return Phase.RUNNING


def finish(
    check: checks.CheckStatus, phase: checks.CheckPhase, message: str, now: datetime
) -> checks.CheckStatus:
    """``check`` ended in ``phase`` with ``message`` (bounded) at ``now``."""
    return check.model_copy(
        update={
            "phase": phase,
            "finished_at": now,
            "next_at": None,
            "message": text.bounded(message, checks.MAX_CHECK_MESSAGE),
        }
    )


def with_verification(
    current: status.PipelineStatus, environment: str, found: checks.VerificationStatus | None
) -> status.PipelineStatus:
    """``current`` with ``environment``'s verification replaced."""
    env = current.environments.get(environment) or status.EnvironmentStatus()
    env = env.model_copy(update={"verification": found})
    return current.model_copy(update={"environments": {**current.environments, environment: env}})


def with_check(
    found: checks.VerificationStatus, check: checks.CheckStatus
) -> checks.VerificationStatus:
    """``found`` with the check of that name replaced, and its phase recomputed."""
    updated = tuple(check if c.name == check.name else c for c in found.checks)
    return found.model_copy(update={"checks": updated, "phase": phase_of(updated)})


def timeout_of(check: checks.Check) -> timedelta | None:
    """How long a Job or commit-status check may take (``None``: bounded otherwise)."""
    if check.job is not None:
        return durations.parse(check.job.timeout or DEFAULT_TIMEOUT)
    if check.commit_status is not None:
        return durations.parse(check.commit_status.timeout or DEFAULT_TIMEOUT)
    return None


def promotion_commit(env: status.EnvironmentStatus, revision: str) -> str:
    """The commit that promoted ``revision`` into the environment ("" when none is known)."""
    record = env.promotion
    if record is None or record.revision != revision or record.result is None:
        return ""
    return record.result.commit or ""


# ------------------------------------------------------------------ one pass


def advance(spec: pipeline.PipelineSpec, current: status.PipelineStatus, now: datetime) -> Advance:
    """Start, step and time out the checks of every environment (see the module docstring)."""
    done: tuple[actions.Action, ...] = ()
    wake: tuple[datetime, ...] = ()
    for environment in spec.environments:
        env = current.environments.get(environment.name) or status.EnvironmentStatus()
        found = checks_for(spec, environment)
        before = env.verification
        after, stepped, woken = _environment(environment.name, found, env, now)
        if after != before:
            current = with_verification(current, environment.name, after)
        notice = announcement(environment.name, before, after)
        done, wake = (*done, *stepped, *((notice,) if notice else ())), (*wake, *woken)
    return Advance(current, done, wake)


def _environment(
    name: str, found: Sequence[checks.Check], env: status.EnvironmentStatus, now: datetime
) -> tuple[checks.VerificationStatus | None, tuple[actions.Action, ...], tuple[datetime, ...]]:
    """One environment's verification after this pass, its actions and wake-ups."""
    if not found:
        return None, (), ()
    current = env.verification
    if env.ready and env.revision and (current is None or current.revision != env.revision):
        current = checks.VerificationStatus(revision=env.revision, phase=Phase.RUNNING)
    if current is None:
        return None, (), ()
    current = _synced(current, found, now)
    if current.revision != env.revision:
        return current, (), ()  # the environment moved on and is not ready yet: wait for it
    # ``_synced`` keeps one status per spec check, in spec order.
    steps = [
        _step(name, spec, check, current, env, now)
        for spec, check in zip(found, current.checks, strict=True)
    ]
    updated = tuple(step.check for step in steps)
    verified = current.model_copy(update={"checks": updated, "phase": phase_of(updated)})
    acts = tuple(action for step in steps for action in step.actions)
    return verified, acts, tuple(moment for step in steps for moment in step.wake)


def _synced(
    current: checks.VerificationStatus, found: Sequence[checks.Check], now: datetime
) -> checks.VerificationStatus:
    """One status per spec check, in spec order: kept, started now, or dropped with its check."""
    started = tuple(
        current.check(check.name)
        or checks.CheckStatus(name=check.name, phase=Phase.RUNNING, started_at=now)
        for check in found
    )
    return current.model_copy(update={"checks": started, "phase": phase_of(started)})


def _step(
    name: str,
    spec: checks.Check,
    check: checks.CheckStatus,
    verification: checks.VerificationStatus,
    env: status.EnvironmentStatus,
    now: datetime,
) -> _Stepped:
    """The step one check takes now: nothing, a timeout, an intent and ``start``, or ``observe``."""
    if check.phase.finished or spec.kind is None:  # no kind: an invalid spec, never acted on
        return _Stepped(check)
    limit = timeout_of(spec)
    wake: tuple[datetime, ...] = ()
    if limit is not None and check.started_at is not None:
        deadline = check.started_at + limit
        if now >= deadline:
            took = durations_text(limit)
            return _Stepped(finish(check, Phase.FAILED, f"did not finish within {took}", now))
        wake = (deadline,)
    if check.next_at is not None and now < check.next_at:
        return _Stepped(check, wake=(check.next_at, *wake))
    step = _due(name, spec, spec.kind, check, verification, env, now)
    return _Stepped(step.check, step.actions, (*step.wake, *wake))


def _due(
    name: str,
    spec: checks.Check,
    kind: checks.CheckKind,
    check: checks.CheckStatus,
    verification: checks.VerificationStatus,
    env: status.EnvironmentStatus,
    now: datetime,
) -> _Stepped:
    """The step of a check whose next step is due."""
    revision, run = verification.revision, verification.run

    def act(step: str, commit: str = "") -> actions.Check:
        return actions.Check(name, revision, run, spec.name, kind.value, step, commit)

    if kind is Kind.COMMIT_STATUS:
        commit = promotion_commit(env, revision)
        if not commit:
            message = f"no commit that promoted {revision} into {name} is known"
            return _Stepped(finish(check, Phase.FAILED, message, now))
        return _Stepped(check, (act(actions.OBSERVE, commit),))
    if kind is Kind.PROMETHEUS or (kind is Kind.JOB and check.count > 0):
        return _Stepped(check, (act(actions.OBSERVE),))
    # A start (Jobs not created yet, or a webhook call): the intent first.
    lease = now + LEASE
    count = check.count + 1 if kind is Kind.WEBHOOK else check.count
    intent = check.model_copy(update={"next_at": lease, "count": min(count, checks.MAX_COUNTER)})
    return _Stepped(intent, (act(actions.START),), (lease,))


def durations_text(length: timedelta) -> str:
    """``1h30m``, ``45s``: a duration as a spec writes it."""
    seconds = int(length.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{seconds}s" if seconds or not (hours or minutes) else "")
    return "".join(parts)


# ------------------------------------------------------------------ what it means


def _progress(check: checks.CheckStatus) -> str:
    return f"{check.name} {check.phase.value.lower()}"


def verdict(
    found: Sequence[checks.Check],
    source: str,
    env: status.EnvironmentStatus,
    revision: str,
) -> Verdict:
    """Whether ``revision`` passed the checks ``found`` of environment ``source`` (status
    ``env``): passed, failed (with the failing check's message), or not decided yet."""
    if not found:
        return PASSED
    current = env.verification
    if current is None or current.revision != revision:
        return Verdict(False, message=f"{source} has not started its checks of {revision}")
    if current.phase is Phase.PASSED:
        return PASSED
    if current.phase is Phase.FAILED:
        failed = next(c for c in current.checks if c.phase is Phase.FAILED)
        why = f": {failed.message}" if failed.message else ""
        return Verdict(
            False, failed=True, message=f"{revision} failed {failed.name} in {source}{why}"
        )
    shown = ", ".join(_progress(check) for check in current.checks)
    return Verdict(False, message=f"waiting for {source}'s checks of {revision}: {shown}")


def announcement(
    environment: str,
    before: checks.VerificationStatus | None,
    after: checks.VerificationStatus | None,
) -> actions.Notify | None:
    """The Event of a verification that just passed or failed (``None`` for anything else)."""
    if after is None or not after.phase.finished:
        return None
    if before is not None and (before.revision, before.run, before.phase) == (
        after.revision,
        after.run,
        after.phase,
    ):
        return None
    if after.phase is Phase.PASSED:
        message = f"{environment} verified {after.revision}: {len(after.checks)} check(s) passed"
        return actions.Notify(environment, after.revision, "Verified", message)
    failed = next(c for c in after.checks if c.phase is Phase.FAILED)
    message = f"{after.revision} failed verification in {environment}: {failed.name}"
    if failed.message:
        message += f": {failed.message}"
    return actions.Notify(environment, after.revision, "VerificationFailed", message, warning=True)


# ------------------------------------------------------------------ ferryman verify


def rerun(
    current: status.PipelineStatus,
    spec: pipeline.PipelineSpec,
    environment: str,
    *,
    user: str,
    comment: str,
    now: datetime,
) -> status.PipelineStatus:
    """The next run of ``environment``'s checks of the revision it runs (``ferryman verify``).

    Refused (``holds.OperatorRefused``) for an unknown environment, one without checks, one
    that runs no revision ready everywhere, and while the current run is still undecided.
    """
    env_spec = spec.environment(environment)
    if env_spec is None:
        raise holds.OperatorRefused(
            holds.Refusal.UNKNOWN_ENVIRONMENT, f'there is no environment "{environment}"'
        )
    if not checks_for(spec, env_spec):
        raise holds.OperatorRefused(
            holds.Refusal.NOT_VERIFIABLE, f'environment "{environment}" has no checks'
        )
    env = current.environments.get(environment) or status.EnvironmentStatus()
    if not env.ready or not env.revision:
        raise holds.OperatorRefused(
            holds.Refusal.NOT_VERIFIABLE,
            f'environment "{environment}" runs no revision ready everywhere: nothing to verify',
        )
    previous = env.verification
    same = previous is not None and previous.revision == env.revision
    if same and previous is not None and previous.phase is Phase.RUNNING:
        raise holds.OperatorRefused(
            holds.Refusal.VERIFYING,
            f'the checks of {env.revision} in "{environment}" are still running',
        )
    run = previous.run + 1 if same and previous is not None else 1
    at = timefmt.truncate(now)
    fresh = checks.VerificationStatus(
        revision=env.revision, run=min(run, checks.MAX_COUNTER), phase=Phase.RUNNING
    )
    entry = status.HistoryEntry(
        environment=environment,
        revision=env.revision,
        action=status.HistoryAction.VERIFY_REQUESTED,
        at=at,
        by=user,
        comment=text.bounded(comment, status.MAX_COMMENT_LENGTH) or None,
    )
    return records.with_history(with_verification(current, environment, fresh), entry)
