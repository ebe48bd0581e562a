"""Reconcile one Pipeline: observe → ``decide()`` → write status once → act → record the outcome.

The reconciler holds no state between passes; everything it needs is in the Pipeline's status.
Crash safety (DESIGN §4): the ``Promoting`` intent is written (with a resourceVersion
precondition) before a strategy runs, and the outcome after it, so a crash anywhere repeats at
most the idempotent strategy call. Every status write and side effect passes a named
``checkpoint`` so tests can stop the controller exactly there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import pydantic

from ferryman.api import conditions, pipeline, status, validation
from ferryman.controller import metrics
from ferryman.domain import decisions, errors, observations, outcomes, policy, timefmt
from ferryman.domain import status as status_rules
from ferryman.ports import clock as clock_port
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion

log = logging.getLogger(__name__)

# (object or None, error) for one target; the error explains a missing object.
TargetRead = tuple[k8s.JSON | None, str]
TargetReader = Callable[[pipeline.Pipeline, pipeline.Target], Awaitable[TargetRead]]
Checkpoint = Callable[[str], None]

STRATEGY_TIMEOUT = 120.0
MAX_CONFLICT_RETRIES = 5


def _no_checkpoint(label: str) -> None:
    del label


@dataclass
class Counters:
    """What the reconciler did, for metrics and tests."""

    passes: int = 0
    status_writes: int = 0
    conflicts: int = 0
    events: int = 0
    promotions: int = 0


class Reconciler:
    """One reconcile pass per call; safe to run for different Pipelines concurrently."""

    def __init__(
        self,
        *,
        store: k8s.PipelineStore,
        read_target: TargetReader,
        events: k8s.EventSink,
        strategies: Mapping[str, promotion.PromotionStrategy],
        clock: clock_port.Clock,
        owner: str,
        checkpoint: Checkpoint = _no_checkpoint,
        strategy_timeout: float = STRATEGY_TIMEOUT,
        meters: metrics.Metrics | None = None,
    ) -> None:
        self._store = store
        self._read_target = read_target
        self._events = events
        self._strategies = strategies
        self._clock = clock
        self.owner = owner
        self._checkpoint = checkpoint
        self._timeout = strategy_timeout
        self.counters = Counters()
        # resourceVersion of this instance's last status write per Pipeline: the watch event it
        # causes shows nothing this instance has not already decided on.
        self.written: dict[tuple[str, str], str] = {}
        self._metrics = meters or metrics.Metrics()

    async def reconcile(self, namespace: str, name: str) -> timedelta | None:
        """One pass; returns when to look again (``None``: on the next event only).

        Raises ``k8s.KubernetesError`` for the work queue to retry with backoff.
        """
        self.counters.passes += 1
        obj = await self._store.get(namespace, name)
        if obj is None:
            return None
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                return await self._pass(obj)
            except k8s.Conflict:
                self.counters.conflicts += 1
                fresh = await self._store.get(namespace, name)
                if fresh is None:
                    return None
                obj = fresh
        raise k8s.Conflict(f'pipeline "{namespace}/{name}" kept changing; will retry')

    async def _pass(self, obj: k8s.JSON) -> timedelta | None:
        now = self._clock.now()
        parsed, problems = validation.validate(obj)
        if parsed is None or problems:
            await self._stall(obj, [str(problem) for problem in problems])
            return None
        targets = await self._observe(parsed)
        decision = decisions.decide(parsed, targets, now=now, owner=self.owner)
        stored = obj
        if decision.status != parsed.status:
            self._checkpoint("before-status-write")
            stored = await self._write(obj, decision.status)
            self._checkpoint("after-status-write")
        for action in decision.actions:
            if isinstance(action, decisions.Notify):
                await self._notify(stored, action)
        for action in decision.actions:
            if isinstance(action, decisions.Promote):
                stored = await self._promote(stored, action)
        return decision.requeue_after(now)

    async def _observe(
        self, subject: pipeline.Pipeline
    ) -> dict[str, Sequence[status.TargetStatus]]:
        result: dict[str, Sequence[status.TargetStatus]] = {}
        app = subject.spec.app_ref
        for env in subject.spec.environments:
            reads = await asyncio.gather(*(self._read_target(subject, t) for t in env.targets))
            result[env.name] = [
                observations.target_status(app, target, found, error=error)
                for target, (found, error) in zip(env.targets, reads, strict=True)
            ]
        return result

    async def _write(self, obj: k8s.JSON, new: status.PipelineStatus) -> k8s.JSON:
        stored = await self._store.write_status(obj, new.to_wire())
        meta = stored.get("metadata") or {}
        self.written[(meta.get("namespace", ""), meta.get("name", ""))] = str(
            meta.get("resourceVersion", "")
        )
        self.counters.status_writes += 1
        self._metrics.api_writes.labels(verb="update_status").inc()
        return stored

    async def _stall(self, obj: k8s.JSON, problems: list[str]) -> None:
        meta = obj.get("metadata") or {}
        generation = int(meta.get("generation") or 0)
        try:
            current = status.PipelineStatus.model_validate(obj.get("status") or {})
        except pydantic.ValidationError:
            current = status.PipelineStatus()
        problems = problems or ["the object cannot be read as a Pipeline"]
        stalled = status_rules.stalled(
            current, problems, generation=generation, now=timefmt.truncate(self._clock.now())
        )
        if stalled == current:
            return
        was = current.condition(conditions.STALLED)
        await self._write(obj, stalled)
        if was is None or was.status != "True" or was.message != "; ".join(problems):
            await self._emit(
                obj,
                k8s.EventRecord(
                    reason=conditions.INVALID_SPEC, message="; ".join(problems), warning=True
                ),
            )
        log.info("Pipeline spec is invalid pipeline=%s/%s", meta.get("namespace"), meta.get("name"))

    async def _emit(self, obj: k8s.JSON, event: k8s.EventRecord) -> None:
        self._checkpoint("before-event")
        try:
            if await self._events.emit(obj, event):
                self.counters.events += 1
                self._metrics.api_writes.labels(verb="create_event").inc()
        except k8s.KubernetesError as exc:
            log.warning("Could not record event reason=%s error=%s", event.reason, exc)

    async def _notify(self, obj: k8s.JSON, action: decisions.Notify) -> None:
        annotations = {"environment": action.environment, "revision": action.revision}
        if action.actor:
            annotations["pipelines.weave.works/actor"] = action.actor
        message = action.message if not action.actor else f"{action.message} by {action.actor}"
        await self._emit(
            obj,
            k8s.EventRecord(
                reason=action.reason,
                message=message,
                warning=action.warning,
                annotations=annotations,
            ),
        )

    def _request(
        self, subject: pipeline.Pipeline, obj: k8s.JSON, action: decisions.Promote
    ) -> promotion.PromotionRequest:
        env_spec = subject.spec.environment(action.environment)
        assert env_spec is not None  # decide() only promotes into environments of the spec
        strategy = policy.effective(subject.spec, env_spec).strategy
        assert strategy is not None  # decide() only promotes where a strategy is set
        env_status = subject.status.environments.get(action.environment)
        record = env_status.promotion if env_status is not None else None
        meta = obj["metadata"]
        return promotion.PromotionRequest(
            namespace=meta["namespace"],
            pipeline_name=meta["name"],
            pipeline_uid=meta.get("uid", ""),
            environment=action.environment,
            source_environment=action.source,
            revision=action.revision,
            app=subject.spec.app_ref,
            strategy=strategy,
            approvals=record.approvals if record is not None else (),
            attempt=action.attempt,
        )

    async def _promote(self, obj: k8s.JSON, action: decisions.Promote) -> k8s.JSON:
        subject = pipeline.Pipeline.model_validate(obj)
        request = self._request(subject, obj, action)
        strategy = self._strategies.get(action.strategy)
        self._checkpoint("before-promote")
        error: errors.PromotionError | None = None
        result: status.PromotionResult | None = None
        if strategy is None:
            error = errors.PermanentError(f'strategy "{action.strategy}" is not available')
        else:
            try:
                result = await asyncio.wait_for(strategy.promote(request), self._timeout)
            except errors.PromotionError as exc:
                error = exc
            except TimeoutError:
                error = errors.TemporaryError(f"{action.strategy} timed out after {self._timeout}s")
        self._checkpoint("after-promote")
        self.counters.promotions += 1
        outcome = "succeeded" if result is not None else (error.reason if error else "failed")
        self._metrics.promotions.labels(strategy=action.strategy, result=outcome).inc()
        if result is not None:
            log.info(
                "Promoted pipeline=%s/%s environment=%s revision=%s strategy=%s",
                request.namespace,
                request.pipeline_name,
                request.environment,
                request.revision,
                action.strategy,
            )
            stored = await self._record(
                obj,
                lambda current: outcomes.record_success(
                    current, action.environment, revision=action.revision, result=result
                ),
            )
            where = result.url or result.commit or result.key or ""
            await self._emit(
                stored,
                k8s.EventRecord(
                    reason="Promoted",
                    message=f"{action.revision} promoted to {action.environment} {where}".strip(),
                    annotations={"environment": action.environment, "revision": action.revision},
                ),
            )
            return stored
        assert error is not None
        failure = error
        log.warning(
            "Promotion failed pipeline=%s/%s environment=%s revision=%s error=%s",
            request.namespace,
            request.pipeline_name,
            request.environment,
            request.revision,
            failure,
        )
        now = self._clock.now()
        stored = await self._record(
            obj,
            lambda current: outcomes.record_failure(
                current, action.environment, revision=action.revision, error=failure, now=now
            ),
        )
        await self._emit(
            stored,
            k8s.EventRecord(
                reason=failure.reason,
                message=f"promotion of {action.revision} to {action.environment} failed: {failure}",
                warning=True,
                annotations={"environment": action.environment, "revision": action.revision},
            ),
        )
        return stored

    async def _record(
        self,
        obj: k8s.JSON,
        outcome: Callable[[status.PipelineStatus], status.PipelineStatus],
    ) -> k8s.JSON:
        """Write an outcome; on a conflict re-read and apply it to the fresh status."""
        meta = obj["metadata"]
        for _ in range(MAX_CONFLICT_RETRIES):
            current = status.PipelineStatus.model_validate(obj.get("status") or {})
            updated = outcome(current)
            if updated == current:
                return obj
            try:
                self._checkpoint("before-result-write")
                stored = await self._write(obj, updated)
                self._checkpoint("after-result-write")
                return stored
            except k8s.Conflict:
                self.counters.conflicts += 1
                fresh = await self._store.get(meta["namespace"], meta["name"])
                if fresh is None:
                    return obj
                obj = fresh
        raise k8s.Conflict(f'could not record the outcome for "{meta["namespace"]}/{meta["name"]}"')
