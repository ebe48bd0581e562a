"""The controller runtime: informers, workers and leadership around one reconcile function.

- Pipelines are watched on the local cluster (all namespaces or the ones given); the watch echo
  of this instance's own decided status write is skipped (``echoes.OwnWrites``).
- App objects are watched by ``targets.AppCaches`` as soon as a Pipeline references them; the
  reconciler reads them through that cache (its ``TargetReader``), and a change enqueues only the
  Pipelines whose targets name that object.
- GitopsClusters are watched so a cluster becoming Ready (or not) re-evaluates its Pipelines.
- Workers take keys from the work queue; only the leader reconciles (status writes and side
  effects are leader-only), followers keep their caches warm so a hand-over is fast.
- Losing leadership cancels every reconcile in flight (``fencing``, layer 1); a pass that stops
  because the fence failed (``fencing.Deposed``) puts its key back without backoff, for whenever
  this instance leads again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from ferryman.api import pipeline
from ferryman.controller import echoes, fencing, leader, metrics, targets, workqueue
from ferryman.controller import informer as informer_mod
from ferryman.ports import kubernetes as k8s

log = logging.getLogger(__name__)

PIPELINES = k8s.Kind(pipeline.API_VERSION, pipeline.KIND)
GITOPS_CLUSTERS = k8s.Kind("gitops.weave.works/v1alpha1", "GitopsCluster")
RESYNC_PERIOD = 600.0

PipelineKey = tuple[str, str]
Reconcile = Callable[[str, str], Awaitable[timedelta | None]]


class Manager:
    """Runs informers and workers around one reconcile function."""

    def __init__(
        self,
        *,
        clusters: k8s.ClusterDirectory,
        namespaces: list[str] | None = None,
        workers: int = 4,
        elector: leader.LeaderElector | None = None,
        meters: metrics.Metrics | None = None,
        own_writes: echoes.OwnWrites | None = None,
    ) -> None:
        self._clusters = clusters
        self._namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self._workers = workers
        self.elector = elector
        self.metrics = meters or metrics.Metrics()
        self.own_writes = own_writes or echoes.OwnWrites()
        self.queue: workqueue.WorkQueue[PipelineKey] = workqueue.WorkQueue()
        self.targets = targets.AppCaches(clusters, enqueue=self.queue.add, spawn=self._spawn)
        self._pipeline_informers: list[informer_mod.Informer] = []
        # Called with every Pipeline change, echoes included (``pipeline_cache``: the server's
        # live pages); they must not block.
        self.pipeline_listeners: list[informer_mod.Handler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Future[timedelta | None]] = set()
        self.ready = asyncio.Event()

    # ------------------------------------------------------------------ pipelines
    @property
    def pipeline_informers(self) -> tuple[informer_mod.Informer, ...]:
        """The Pipeline caches (one per watched namespace, or one for all), once started."""
        return tuple(self._pipeline_informers)

    def _pipeline_changed(self, old: k8s.JSON | None, new: k8s.JSON | None) -> None:
        for listener in self.pipeline_listeners:
            listener(old, new)
        key = informer_mod.key_of(new or old or {})
        if new is None:
            self.targets.forget(key)
            self.own_writes.forget(key)
            return
        if self.own_writes.is_echo(new):
            return  # the echo of our own decided status write: already decided on
        self.queue.add(key)

    # ------------------------------------------------------------------ running
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)

    async def _work(self, reconcile: Reconcile) -> None:
        while True:
            if self.elector is not None:
                await self.elector.leading.wait()
            key = await self.queue.get()
            added = self.queue.added_at.get(key)
            if added is not None:
                self.metrics.queue_latency.observe(time.monotonic() - added)
            self.metrics.queue_depth.set(len(self.queue))
            started = time.monotonic()
            try:
                if self.elector is not None and not self.elector.is_leader:
                    self.queue.add(key)
                    continue
                self.targets.begin(key)
                delay = await self._run_one(reconcile, key)
            except fencing.Deposed as exc:
                self.queue.add(key)  # picked up again whenever this instance leads again
                log.info("Stopped reconcile pipeline=%s/%s: %s", *key, exc)
            except k8s.KubernetesError as exc:
                self.metrics.reconcile_errors.inc()
                wait = self.queue.retry(key)
                log.info("Reconcile failed pipeline=%s/%s retry_in=%.1fs error=%s", *key, wait, exc)
            except Exception:
                self.metrics.reconcile_errors.inc()
                wait = self.queue.retry(key)
                log.exception("Reconcile crashed pipeline=%s/%s retry_in=%.1fs", *key, wait)
            else:
                self.queue.forget(key)
                if delay is not None:
                    self.queue.add(key, delay.total_seconds())
            finally:
                self.metrics.reconcile_seconds.observe(time.monotonic() - started)
                self.queue.done(key)

    async def _run_one(self, reconcile: Reconcile, key: PipelineKey) -> timedelta | None:
        """One pass, as a task the leadership watcher can cancel (then ``Deposed``)."""
        task = asyncio.ensure_future(reconcile(*key))
        self._running.add(task)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the worker itself is stopping
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            self._running.discard(task)
        if task.cancelled():
            raise fencing.Deposed("leadership was lost during the pass")
        return task.result()

    def _cancel_running(self) -> None:
        """Leadership is lost: stop every pass in flight before it performs another step."""
        for task in list(self._running):
            task.cancel()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_PERIOD)
            for cache in self._pipeline_informers:
                for obj in cache.items():
                    self.queue.add(informer_mod.key_of(obj))

    async def _watch_leadership(self, elector: leader.LeaderElector) -> None:
        while True:
            await elector.leading.wait()
            self.metrics.leader.set(1)
            for cache in self._pipeline_informers:
                for obj in cache.items():
                    self.queue.add(informer_mod.key_of(obj))
            await elector.following.wait()
            self._cancel_running()
            self.metrics.leader.set(0)

    @staticmethod
    async def _wait_for_kind(local: k8s.Cluster) -> None:
        """Wait until the API serves Pipelines (the CRD may be applied after the controller)."""
        delay = 1.0
        while True:
            try:
                await local.resolve(PIPELINES)
                return
            except k8s.KubernetesError as exc:
                log.warning(
                    "Pipelines are not served yet (is the CRD installed?) error=%s retry_in=%.0fs",
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def start(self, reconcile: Reconcile) -> None:
        """Start informers, workers and (if configured) leader election; return once synced.

        ``reconcile(namespace, name)`` is one pass over a Pipeline (``Reconciler.reconcile``).
        """
        local = self._clusters.local
        await self._wait_for_kind(local)
        for namespace in self._namespaces:
            cache = informer_mod.Informer(
                f"pipelines/{namespace or '*'}",
                local.source(PIPELINES, namespace),
                self._pipeline_changed,
            )
            self._pipeline_informers.append(cache)
            self._spawn(cache.run())
        try:
            clusters_kind = await local.resolve(GITOPS_CLUSTERS)
        except k8s.KubernetesError:
            log.info("GitopsCluster kind not served: remote targets will report an error")
        else:
            self._spawn(
                informer_mod.Informer(
                    "gitopsclusters",
                    local.source(clusters_kind, None),
                    self.targets.cluster_changed,
                ).run()
            )
        if self.elector is not None:
            self._spawn(self.elector.run())
            self._spawn(self._watch_leadership(self.elector))
        else:
            self.metrics.leader.set(1)
        for _ in range(self._workers):
            self._spawn(self._work(reconcile))
        self._spawn(self._resync())
        for cache in self._pipeline_informers:
            await cache.synced.wait()
        self.ready.set()

    async def stop(self, *, release: bool = True) -> None:
        """Stop everything; release the lease so a successor can lead at once (``release=False``
        leaves it held, as a killed process would)."""
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.elector is not None and release:
            await self.elector.release()
