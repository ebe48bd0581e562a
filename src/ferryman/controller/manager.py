"""The controller runtime: informers, the index from app objects to Pipelines, workers, leadership.

- Pipelines are watched on the local cluster (all namespaces or the ones given).
- App objects are watched per (cluster, kind, namespace) as soon as a Pipeline references them;
  the reconciler reads them from these caches, and a change enqueues only the Pipelines whose
  targets name that object (the index is rebuilt from each reconcile's reads).
- GitopsClusters are watched so a cluster becoming Ready (or not) re-evaluates its Pipelines.
- Workers take keys from the work queue; only the leader reconciles (status writes and side
  effects are leader-only), followers keep their caches warm so a hand-over is fast.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from ferryman.api import pipeline
from ferryman.controller import informer as informer_mod
from ferryman.controller import leader, metrics, reconciler, workqueue
from ferryman.ports import kubernetes as k8s

log = logging.getLogger(__name__)

PIPELINES = k8s.Kind(pipeline.API_VERSION, pipeline.KIND)
GITOPS_CLUSTERS = k8s.Kind("gitops.weave.works/v1alpha1", "GitopsCluster")
SYNC_TIMEOUT = 10.0
RESYNC_PERIOD = 600.0

PipelineKey = tuple[str, str]

# App kinds whose revision and readiness live entirely in metadata and status (domain.observations):
# their caches drop the spec (HelmRelease values can be large). Other kinds may name a revision path
# anywhere, so they are cached whole.
WELL_KNOWN_APPS = frozenset(
    {
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        ("argoproj.io", "Application"),
    }
)
_KEPT_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation")


def observed_fields(obj: k8s.JSON) -> k8s.JSON:
    """The part of an app object that observations read: identity, generation and status."""
    meta = obj.get("metadata") or {}
    trimmed: k8s.JSON = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {key: meta[key] for key in _KEPT_METADATA if key in meta},
    }
    if "status" in obj:
        trimmed["status"] = obj["status"]
    return trimmed


@dataclass(frozen=True)
class AppKey:
    """One app object as the index knows it."""

    cluster: str
    kind: k8s.Kind
    namespace: str
    name: str


class Manager:
    """Runs informers and workers around one ``Reconciler``."""

    def __init__(
        self,
        *,
        clusters: k8s.ClusterDirectory,
        namespaces: list[str] | None = None,
        workers: int = 4,
        elector: leader.LeaderElector | None = None,
        meters: metrics.Metrics | None = None,
    ) -> None:
        self._clusters = clusters
        self._namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self._workers = workers
        self.elector = elector
        self.metrics = meters or metrics.Metrics()
        self.queue: workqueue.WorkQueue[PipelineKey] = workqueue.WorkQueue()
        self.reconciler: reconciler.Reconciler | None = None
        self._pipeline_informers: list[informer_mod.Informer] = []
        self._app_informers: dict[
            tuple[str, k8s.Kind, str], tuple[object, informer_mod.Informer]
        ] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._reads: dict[PipelineKey, set[AppKey]] = {}
        self._by_app: dict[AppKey, set[PipelineKey]] = defaultdict(set)
        self._by_cluster: dict[tuple[str, str], set[PipelineKey]] = defaultdict(set)
        self.ready = asyncio.Event()

    # ------------------------------------------------------------------ reading targets
    async def read_target(
        self, subject: pipeline.Pipeline, target: pipeline.Target
    ) -> reconciler.TargetRead:
        """The app object of ``target`` from an informer cache (started on first use)."""
        key = (subject.metadata.namespace, subject.metadata.name)
        app = subject.spec.app_ref
        if target.cluster_ref is not None:
            ref_ns = target.cluster_ref.namespace or subject.metadata.namespace
            self._by_cluster[(ref_ns, target.cluster_ref.name)].add(key)
            try:
                cluster = await self._clusters.remote(ref_ns, target.cluster_ref.name)
            except k8s.ClusterUnavailable as exc:
                return None, str(exc)
            except k8s.KubernetesError as exc:
                return None, f"cannot read GitopsCluster {ref_ns}/{target.cluster_ref.name}: {exc}"
        else:
            cluster = self._clusters.local
        try:
            kind = await cluster.resolve(k8s.Kind(app.api_version, app.kind))
        except k8s.NotFound:
            return None, f"{app.api_version} {app.kind} is not served by the cluster"
        except k8s.KubernetesError as exc:
            return None, f"cannot reach the cluster: {exc}"
        app_key = AppKey(cluster.name, kind, target.namespace, app.name)
        self._reads.setdefault(key, set()).add(app_key)
        self._by_app[app_key].add(key)
        cache = self._app_informer(cluster, kind, target.namespace)
        if not cache.synced.is_set():
            try:
                await asyncio.wait_for(cache.synced.wait(), SYNC_TIMEOUT)
            except TimeoutError:
                return (
                    None,
                    f"cache of {kind.kind} in {target.namespace} is not synced: {cache.last_error}",
                )
        return cache.get(target.namespace, app.name), ""

    def _app_informer(
        self, cluster: k8s.Cluster, kind: k8s.Kind, namespace: str
    ) -> informer_mod.Informer:
        slot = (cluster.name, kind, namespace)
        existing = self._app_informers.get(slot)
        if existing is not None and existing[0] is cluster:
            return existing[1]
        cache = informer_mod.Informer(
            f"{cluster.name or 'local'}/{kind.kind}/{namespace}",
            cluster.source(kind, namespace),
            lambda old, new: self._app_changed(cluster.name, kind, old, new),
            transform=observed_fields if (kind.group, kind.kind) in WELL_KNOWN_APPS else None,
        )
        self._app_informers[slot] = (cluster, cache)
        self._spawn(cache.run())
        return cache

    def _app_changed(
        self, cluster: str, kind: k8s.Kind, old: k8s.JSON | None, new: k8s.JSON | None
    ) -> None:
        obj = new or old or {}
        namespace, name = informer_mod.key_of(obj)
        for key in self._by_app.get(AppKey(cluster, kind, namespace, name), ()):
            self.queue.add(key)

    # ------------------------------------------------------------------ pipelines
    def _pipeline_changed(self, old: k8s.JSON | None, new: k8s.JSON | None) -> None:
        obj = new or old or {}
        key = informer_mod.key_of(obj)
        if new is None:
            self._forget(key)
            if self.reconciler is not None:
                self.reconciler.written.pop(key, None)
            return
        own = self.reconciler.written.get(key) if self.reconciler is not None else None
        if own is not None and own == str(new.get("metadata", {}).get("resourceVersion")):
            return  # the echo of our own status write: already decided on
        self.queue.add(key)

    def _cluster_changed(self, old: k8s.JSON | None, new: k8s.JSON | None) -> None:
        obj = new or old or {}
        for key in self._by_cluster.get(informer_mod.key_of(obj), ()):
            self.queue.add(key)

    def _forget(self, key: PipelineKey) -> None:
        for app_key in self._reads.pop(key, set()):
            self._by_app[app_key].discard(key)
        for keys in self._by_cluster.values():
            keys.discard(key)

    # ------------------------------------------------------------------ running
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)

    async def _work(self) -> None:
        assert self.reconciler is not None
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
                self._reads.pop(key, None)
                delay = await self.reconciler.reconcile(*key)
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

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_PERIOD)
            for cache in self._pipeline_informers:
                for obj in cache.items():
                    self.queue.add(informer_mod.key_of(obj))

    async def _watch_leadership(self) -> None:
        assert self.elector is not None
        while True:
            await self.elector.leading.wait()
            self.metrics.leader.set(1)
            for cache in self._pipeline_informers:
                for obj in cache.items():
                    self.queue.add(informer_mod.key_of(obj))
            await self.elector.following.wait()
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

    async def start(self, reconciler_: reconciler.Reconciler) -> None:
        """Start informers, workers and (if configured) leader election; return once synced."""
        self.reconciler = reconciler_
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
                    "gitopsclusters", local.source(clusters_kind, None), self._cluster_changed
                ).run()
            )
        if self.elector is not None:
            self._spawn(self.elector.run())
            self._spawn(self._watch_leadership())
        else:
            self.metrics.leader.set(1)
        for _ in range(self._workers):
            self._spawn(self._work())
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
