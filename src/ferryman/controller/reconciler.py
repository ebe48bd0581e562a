"""Reconcile one Pipeline: observe → ``decide()`` → write status once → act → record the outcome.

The reconciler holds no state between passes; everything it needs is in the Pipeline's status.
It fetches the Pipeline once and parses it once per pass (a 409 fetches again). Crash safety
(DESIGN §4): the ``Promoting`` intent is written (with a resourceVersion precondition) before a
strategy runs, and the outcome after it, so a crash anywhere repeats at most the idempotent
strategy call. Every status write and side effect passes a named ``checkpoint`` so tests can stop
the controller exactly there. Verification check steps (``actions.Check``) follow the same
pattern: a ``start`` step's intent is in the decided status, the step runs through the
``checks.Verifier``, and ``domain.findings.record`` writes what it found.

Fencing (``fencing``): ``decide()`` may take over another owner's intent only while ``fence``
holds (this instance leads with a fresh renewal); the strategy, every check step and every Event
are preceded by a fence check, and the strategies' own irreversible steps are fenced by their
guarded ports. A failed check raises ``fencing.Deposed``, which ends the pass without recording
anything.

Each pass writes its intents as owner ``<identity>/<pass>``: a record left ``Promoting`` by an
earlier pass of this same process (its outcome write failed, or it was cancelled or deposed) is
then another owner's to ``decide()`` and is resumed, instead of looking like a strategy still in
flight here (nothing is: the work queue never runs one Pipeline on two workers at once).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pydantic

from ferryman.api import conditions, pipeline, status, validation
from ferryman.api import verification as checks_api
from ferryman.controller import checks, echoes, fencing, metrics
from ferryman.domain import (
    actions,
    decisions,
    errors,
    findings,
    observations,
    outcomes,
    policy,
    timefmt,
    verification,
)
from ferryman.domain import summary as summary_rules
from ferryman.ports import clock as clock_port
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion

log = logging.getLogger(__name__)

Checkpoint = fencing.Checkpoint
Outcome = Callable[[status.PipelineStatus], status.PipelineStatus]

T = TypeVar("T")

STRATEGY_TIMEOUT = 120.0
MAX_CONFLICT_RETRIES = 5


@dataclass
class Counters:
    """What the reconciler did, for metrics and tests."""

    passes: int = 0
    status_writes: int = 0
    conflicts: int = 0
    events: int = 0
    promotions: int = 0


@dataclass(frozen=True)
class Stored:
    """A Pipeline as the API server last returned it, with its status already parsed."""

    obj: k8s.JSON
    status: status.PipelineStatus


class Reconciler:
    """One reconcile pass per call; safe to run for different Pipelines concurrently."""

    def __init__(
        self,
        *,
        store: k8s.PipelineStore,
        targets: k8s.TargetReader,
        events: k8s.EventSink,
        strategies: Mapping[str, promotion.PromotionStrategy],
        clock: clock_port.Clock,
        owner: str,
        own_writes: echoes.OwnWrites | None = None,
        checkpoint: Checkpoint = fencing.no_checkpoint,
        strategy_timeout: float = STRATEGY_TIMEOUT,
        meters: metrics.Metrics | None = None,
        fence: fencing.Fence = fencing.UNFENCED,
        verifier: checks.Verifier | None = None,
    ) -> None:
        self._store = store
        self._targets = targets
        self._events = events
        self._strategies = strategies
        self._clock = clock
        self.owner = owner
        self._own_writes = own_writes or echoes.OwnWrites()
        self._checkpoint = checkpoint
        self._timeout = strategy_timeout
        self.counters = Counters()
        self._metrics = meters or metrics.Metrics()
        self._fence = fence
        self._pass_ids = itertools.count(1)
        self._verifier = verifier

    async def reconcile(self, namespace: str, name: str) -> timedelta | None:
        """One pass; returns when to look again (``None``: on the next event only).

        Raises ``k8s.KubernetesError`` for the work queue to retry with backoff.
        """
        self.counters.passes += 1
        obj = await self._store.get(namespace, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            if obj is None:
                return None
            try:
                return await self._pass(obj)
            except k8s.Conflict:
                self.counters.conflicts += 1
                obj = await self._store.get(namespace, name)
        raise k8s.Conflict(f'pipeline "{namespace}/{name}" kept changing; will retry')

    async def _pass(self, obj: k8s.JSON) -> timedelta | None:
        now = self._clock.now()
        parsed, problems = validation.validate(obj)
        if parsed is None or problems:
            await self._stall(obj, [str(problem) for problem in problems])
            return None
        observed = await self._observe(parsed)
        decision = decisions.decide(
            parsed,
            observed,
            now=now,
            owner=f"{self.owner}/{next(self._pass_ids)}",
            may_take_over=self._fence.holds(),
        )
        stored = Stored(obj, parsed.status)
        if decision.status != parsed.status:
            self._checkpoint("before-status-write")
            stored = await self._write(obj, decision.status)
            self._own_writes.remember(stored.obj)
            self._checkpoint("after-status-write")
        subject = parsed.model_copy(update={"status": decision.status})
        for action in decision.actions:
            match action:
                case actions.Notify():
                    await self._notify(stored.obj, action)
                case actions.Promote():
                    stored = await self._promote(stored, subject, action)
                case actions.Preview():
                    stored = await self._preview(stored, subject, action)
                case actions.Check():
                    stored = await self._check(stored, subject, action)
        return decision.requeue_after(now)

    async def _observe(
        self, subject: pipeline.Pipeline
    ) -> dict[str, Sequence[status.TargetStatus]]:
        result: dict[str, Sequence[status.TargetStatus]] = {}
        app = subject.spec.app_ref
        for env in subject.spec.environments:
            reads = await asyncio.gather(*(self._targets.read(subject, t) for t in env.targets))
            before = subject.status.environments.get(env.name)
            previous = before.targets if before is not None else ()
            result[env.name] = [
                observations.target_status(
                    app,
                    target,
                    read.obj,
                    error=read.error,
                    reason=read.reason,
                    previous=previous[index] if index < len(previous) else None,
                )
                for index, (target, read) in enumerate(zip(env.targets, reads, strict=True))
            ]
        return result

    async def _write(self, obj: k8s.JSON, new: status.PipelineStatus) -> Stored:
        stored = await self._store.write_status(obj, new.to_wire())
        self.counters.status_writes += 1
        self._metrics.api_writes.labels(verb="update_status").inc()
        return Stored(stored, new)

    async def _stall(self, obj: k8s.JSON, problems: list[str]) -> None:
        meta = obj.get("metadata") or {}
        generation = int(meta.get("generation") or 0)
        try:
            current = status.PipelineStatus.model_validate(obj.get("status") or {})
        except pydantic.ValidationError:
            current = status.PipelineStatus()
        problems = problems or ["the object cannot be read as a Pipeline"]
        stalled = summary_rules.stalled(
            current, problems, generation=generation, now=timefmt.truncate(self._clock.now())
        )
        if stalled == current:
            return
        was = current.condition(conditions.STALLED)
        stored = await self._write(obj, stalled)
        self._own_writes.remember(stored.obj)
        if was is None or was.status != "True" or was.message != "; ".join(problems):
            event = k8s.EventRecord(
                reason=conditions.INVALID_SPEC, message="; ".join(problems), warning=True
            )
            await self._emit(obj, event)
        log.info("Pipeline spec is invalid pipeline=%s/%s", meta.get("namespace"), meta.get("name"))

    async def _emit(self, obj: k8s.JSON, event: k8s.EventRecord) -> None:
        self._checkpoint("before-event")
        self._fence.check("an Event")
        try:
            if await self._events.emit(obj, event):
                self.counters.events += 1
                self._metrics.api_writes.labels(verb="create_event").inc()
        except k8s.KubernetesError as exc:
            log.warning("Could not record event reason=%s error=%s", event.reason, exc)

    async def _notify(self, obj: k8s.JSON, action: actions.Notify) -> None:
        annotations = {"environment": action.environment, "revision": action.revision}
        if action.actor:
            annotations["pipelines.weave.works/actor"] = action.actor
        message = action.message if not action.actor else f"{action.message} by {action.actor}"
        event = k8s.EventRecord(
            reason=action.reason,
            message=message,
            warning=action.warning,
            annotations=annotations,
        )
        await self._emit(obj, event)

    def _request(
        self, subject: pipeline.Pipeline, action: actions.Promote | actions.Preview
    ) -> promotion.PromotionRequest | errors.PermanentError:
        """What the strategy needs, or why it cannot be built (the spec changed meanwhile)."""
        env_spec = subject.spec.environment(action.environment)
        strategy = policy.effective(subject.spec, env_spec).strategy if env_spec else None
        if strategy is None:
            return errors.PermanentError(f'environment "{action.environment}" has no strategy')
        env_status = subject.status.environments.get(action.environment)
        record = env_status.promotion if env_status is not None else None
        meta = subject.metadata
        return promotion.PromotionRequest(
            namespace=meta.namespace,
            pipeline_name=meta.name,
            pipeline_uid=meta.uid,
            environment=action.environment,
            source_environment=action.source,
            revision=action.revision,
            app=subject.spec.app_ref,
            strategy=strategy,
            approvals=record.approvals if record is not None else (),
            attempt=action.attempt if isinstance(action, actions.Promote) else 0,
            requested_at=record.requested_at if record is not None else None,
            started_at=record.started_at if record is not None else None,
        )

    async def _call(
        self,
        subject: pipeline.Pipeline,
        action: actions.Promote | actions.Preview,
        call: Callable[[promotion.PromotionStrategy, promotion.PromotionRequest], Awaitable[T]],
    ) -> T | errors.PromotionError:
        """Call the action's strategy once, bounded in time: its answer or the error it raised."""
        request = self._request(subject, action)
        strategy = self._strategies.get(action.strategy)
        if isinstance(request, errors.PromotionError):
            return request
        if strategy is None:
            return errors.PermanentError(f'strategy "{action.strategy}" is not available')
        try:
            return await asyncio.wait_for(call(strategy, request), self._timeout)
        except errors.PromotionError as exc:
            return exc
        except TimeoutError:
            return errors.TemporaryError(f"{action.strategy} timed out after {self._timeout}s")

    async def _preview(
        self, stored: Stored, subject: pipeline.Pipeline, action: actions.Preview
    ) -> Stored:
        """Render the change for approvers and record it (or the error) in the record."""
        outcome = await self._call(subject, action, lambda strategy, req: strategy.preview(req))
        if isinstance(outcome, errors.PromotionError):
            log.warning(
                "Cannot render the change environment=%s revision=%s error=%s",
                action.environment,
                action.revision,
                outcome,
            )
        now = self._clock.now()
        return await self._record(
            stored,
            lambda current: outcomes.record_preview(
                current, action.environment, revision=action.revision, outcome=outcome, now=now
            ),
        )

    async def _promote(
        self, stored: Stored, subject: pipeline.Pipeline, action: actions.Promote
    ) -> Stored:
        self._checkpoint("before-promote")
        self._fence.check(f"the {action.strategy} strategy")
        outcome = await self._call(subject, action, lambda strategy, req: strategy.promote(req))
        self._checkpoint("after-promote")
        self.counters.promotions += 1
        result = "succeeded" if isinstance(outcome, status.PromotionResult) else outcome.reason
        self._metrics.promotions.labels(strategy=action.strategy, result=result).inc()
        where = (
            f"pipeline={subject.metadata.namespace}/{subject.metadata.name} "
            f"environment={action.environment} revision={action.revision}"
        )
        if isinstance(outcome, status.PromotionResult):
            log.info("Promoted %s strategy=%s", where, action.strategy)
        else:
            log.warning("Promotion failed %s error=%s", where, outcome)
        change, event = _recorded(action, outcome, self._clock.now())
        stored = await self._record(stored, change)
        await self._emit(stored.obj, event)
        return stored

    async def _check(
        self, stored: Stored, subject: pipeline.Pipeline, action: actions.Check
    ) -> Stored:
        """Run one check step, record what it found, and tell of a verdict in an Event."""
        spec = verification.check_named(subject.spec, action.environment, action.check)
        if spec is None:
            return stored  # removed from the spec meanwhile: the next pass drops its status
        self._checkpoint("before-check")
        self._fence.check(f"the {action.check} check")
        finding: findings.Finding = errors.PermanentError(
            "this controller cannot run verification checks"
        )
        if self._verifier is not None:
            finding = await self._verifier.run(subject, action)
        self._checkpoint("after-check")
        if isinstance(finding, errors.PromotionError):
            log.warning(
                "Check step failed environment=%s revision=%s check=%s step=%s error=%s",
                *(action.environment, action.revision, action.check, action.step, finding),
            )
        before = _verification_of(stored.status, action.environment)
        now = self._clock.now()
        stored = await self._record(
            stored,
            functools.partial(findings.record, action=action, spec=spec, finding=finding, now=now),
        )
        after = _verification_of(stored.status, action.environment)
        notice = verification.announcement(action.environment, before, after)
        if notice is not None:
            await self._notify(stored.obj, notice)
        return stored

    async def _record(self, stored: Stored, outcome: Outcome) -> Stored:
        """Write an outcome; on a conflict re-read and apply it to the fresh status.

        The write is not remembered as this instance's own (``echoes``): its watch echo runs
        ``decide()`` again so the conditions follow the new record.
        """
        meta = stored.obj["metadata"]
        for _ in range(MAX_CONFLICT_RETRIES):
            updated = outcome(stored.status)
            if updated == stored.status:
                return stored
            try:
                self._checkpoint("before-result-write")
                written = await self._write(stored.obj, updated)
                self._checkpoint("after-result-write")
                return written
            except k8s.Conflict:
                self.counters.conflicts += 1
                fresh = await self._store.get(meta["namespace"], meta["name"])
                if fresh is None:
                    return stored
                current = status.PipelineStatus.model_validate(fresh.get("status") or {})
                stored = Stored(fresh, current)
        raise k8s.Conflict(f'could not record the outcome for "{meta["namespace"]}/{meta["name"]}"')


def _verification_of(
    current: status.PipelineStatus, environment: str
) -> checks_api.VerificationStatus | None:
    env = current.environments.get(environment)
    return env.verification if env is not None else None


def _recorded(
    action: actions.Promote,
    outcome: status.PromotionResult | errors.PromotionError,
    now: datetime,
) -> tuple[Outcome, k8s.EventRecord]:
    """How an attempt's outcome changes the record, and the Event that tells of it."""
    env, revision = action.environment, action.revision
    annotations = {"environment": env, "revision": revision}
    change: Outcome
    if isinstance(outcome, status.PromotionResult):
        made = outcome.url or outcome.commit or outcome.key or ""
        change = functools.partial(
            outcomes.record_success, environment=env, revision=revision, result=outcome
        )
        message = f"{revision} promoted to {env} {made}".strip()
        return change, k8s.EventRecord(reason="Promoted", message=message, annotations=annotations)
    if isinstance(outcome, errors.ChangeDiffers):
        change = functools.partial(
            outcomes.record_change_differs,
            environment=env,
            revision=revision,
            error=outcome,
            now=now,
        )
        message = f"approvals of {revision} for {env} are void: {outcome}"
    else:
        change = functools.partial(
            outcomes.record_failure, environment=env, revision=revision, error=outcome, now=now
        )
        message = f"promotion of {revision} to {env} failed: {outcome}"
    event = k8s.EventRecord(
        reason=outcome.reason, message=message, warning=True, annotations=annotations
    )
    return change, event
