"""What each target's app object looks like now: informer caches of app objects, and the index
from app objects and GitopsClusters back to the Pipelines that read them.

App objects are watched per (cluster, kind, namespace) as soon as a Pipeline's target references
them, so a reconcile reads them from memory. Each read is recorded, so a change to an app object
(or to a GitopsCluster) enqueues only the Pipelines whose targets name it; the record of a
Pipeline's reads is rebuilt by each of its reconciles (``begin``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ferryman.api import pipeline
from ferryman.controller import informer as informer_mod
from ferryman.domain import argocd
from ferryman.ports import kubernetes as k8s

SYNC_TIMEOUT = 10.0
PipelineKey = tuple[str, str]

# App kinds whose revision and readiness live in metadata and status (domain.observations): their
# caches drop the spec but for spec.suspend and Argo CD's automated sync (HelmRelease values can
# be large). Other kinds may name a revision path anywhere, so they are cached whole.
WELL_KNOWN_APPS = pipeline.STATUS_ONLY_KINDS
_KEPT_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation")


def observed_fields(obj: k8s.JSON) -> k8s.JSON:
    """The part of an app object that observations read: identity, generation, ``spec.suspend``
    (an Argo CD Application's ``spec.syncPolicy.automated`` and ``operation``) and status."""
    meta = obj.get("metadata") or {}
    trimmed: k8s.JSON = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {key: meta[key] for key in _KEPT_METADATA if key in meta},
    }
    trimmed.update(argocd.observed_parts(obj))  # an Application: automated sync, operation
    spec = obj.get("spec")
    if isinstance(spec, dict) and "suspend" in spec:
        trimmed["spec"] = {**trimmed.get("spec", {}), "suspend": spec["suspend"]}
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


class AppCaches:
    """``ports.kubernetes.TargetReader`` over informer caches, plus the reverse index."""

    def __init__(
        self,
        clusters: k8s.ClusterDirectory,
        *,
        enqueue: Callable[[PipelineKey], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._clusters = clusters
        self._enqueue = enqueue
        self._spawn = spawn
        self._informers: dict[tuple[str, k8s.Kind, str], tuple[object, informer_mod.Informer]] = {}
        self._reads: dict[PipelineKey, set[AppKey]] = {}
        self._by_app: dict[AppKey, set[PipelineKey]] = defaultdict(set)
        self._by_cluster: dict[tuple[str, str], set[PipelineKey]] = defaultdict(set)

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> k8s.TargetRead:
        """The app object of ``target`` from its cache (started on first use), or why not."""
        key = (subject.metadata.namespace, subject.metadata.name)
        found = await self._cluster_of(subject, target, key)
        if isinstance(found, k8s.TargetRead):
            return found
        app = subject.spec.app_ref
        try:
            kind = await found.resolve(k8s.Kind(app.api_version, app.kind))
        except k8s.NotFound:
            return k8s.TargetRead(
                None, f"{app.api_version} {app.kind} is not served by the cluster"
            )
        except k8s.KubernetesError as exc:
            return k8s.TargetRead(None, f"cannot reach the cluster: {exc}")
        app_key = AppKey(found.name, kind, target.namespace, app.name)
        self._reads.setdefault(key, set()).add(app_key)
        self._by_app[app_key].add(key)
        cache = self._informer(found, kind, target.namespace)
        if not cache.synced.is_set():
            try:
                await asyncio.wait_for(cache.synced.wait(), SYNC_TIMEOUT)
            except TimeoutError:
                why = f"cache of {kind.kind} in {target.namespace} is not synced"
                return k8s.TargetRead(None, f"{why}: {cache.last_error}")
        return k8s.TargetRead(cache.get(target.namespace, app.name))

    async def _cluster_of(
        self, subject: pipeline.Pipeline, target: pipeline.Target, key: PipelineKey
    ) -> k8s.Cluster | k8s.TargetRead:
        """The cluster ``target`` lives on, or why it cannot be used."""
        ref = target.cluster_ref
        if ref is None:
            return self._clusters.local
        namespace = ref.namespace or subject.metadata.namespace
        self._by_cluster[(namespace, ref.name)].add(key)
        try:
            return await self._clusters.remote(namespace, ref.name)
        except k8s.ClusterUnavailable as exc:
            return k8s.TargetRead(None, str(exc), exc.reason)
        except k8s.KubernetesError as exc:
            return k8s.TargetRead(None, f"cannot read GitopsCluster {namespace}/{ref.name}: {exc}")

    def _informer(
        self, cluster: k8s.Cluster, kind: k8s.Kind, namespace: str
    ) -> informer_mod.Informer:
        slot = (cluster.name, kind, namespace)
        existing = self._informers.get(slot)
        if existing is not None and existing[0] is cluster:
            return existing[1]
        cache = informer_mod.Informer(
            f"{cluster.name or 'local'}/{kind.kind}/{namespace}",
            cluster.source(kind, namespace),
            lambda old, new: self._app_changed(cluster.name, kind, old, new),
            transform=observed_fields if (kind.group, kind.kind) in WELL_KNOWN_APPS else None,
        )
        self._informers[slot] = (cluster, cache)
        self._spawn(cache.run())
        return cache

    def _app_changed(
        self, cluster: str, kind: k8s.Kind, old: k8s.JSON | None, new: k8s.JSON | None
    ) -> None:
        namespace, name = informer_mod.key_of(new or old or {})
        for key in self._by_app.get(AppKey(cluster, kind, namespace, name), ()):
            self._enqueue(key)

    def cluster_changed(self, old: k8s.JSON | None, new: k8s.JSON | None) -> None:
        """A GitopsCluster changed: look again at the Pipelines with targets on it."""
        for key in self._by_cluster.get(informer_mod.key_of(new or old or {}), ()):
            self._enqueue(key)

    def begin(self, key: PipelineKey) -> None:
        """A reconcile of ``key`` starts: its reads are recorded afresh."""
        self._reads.pop(key, None)

    def forget(self, key: PipelineKey) -> None:
        """The Pipeline was deleted: drop it from the index."""
        for app_key in self._reads.pop(key, set()):
            self._by_app[app_key].discard(key)
        for keys in self._by_cluster.values():
            keys.discard(key)
