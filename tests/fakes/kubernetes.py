"""Per-instance in-memory fakes of the ports, for tests (no module globals).

``FakeKubernetes`` is a tiny API server in memory with the semantics the controller relies on:
a global resourceVersion bumped only on real changes, 409 on a stale status write, watches that
replay later events, and a ``faults`` hook to inject conflicts. It serves as ``Cluster``,
``ClusterDirectory``, ``PipelineStore``, ``EventSink`` and ``LeaseStore`` at once.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from ferryman.api import pipeline
from ferryman.ports import kubernetes as k8s

ObjKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
PIPELINE_KIND = k8s.Kind(pipeline.API_VERSION, pipeline.KIND)


@dataclass
class _Source:
    api: FakeKubernetes
    kind: k8s.Kind
    namespace: str | None

    def _matches(self, key: ObjKey) -> bool:
        return (key[0], key[1]) == (self.kind.api_version, self.kind.kind) and (
            self.namespace is None or key[2] == self.namespace
        )

    async def list(self) -> tuple[list[k8s.JSON], str]:
        items = [copy.deepcopy(v) for k, v in self.api.objects.items() if self._matches(k)]
        return items, str(self.api.version)

    async def watch(self, resource_version: str) -> AsyncIterator[k8s.WatchEvent]:
        since = int(resource_version or 0)
        if since < self.api.compacted:
            raise k8s.Expired("too old resource version")
        queue: asyncio.Queue[tuple[int, str, ObjKey, k8s.JSON] | None] = asyncio.Queue()
        for logged in self.api.log:
            if logged[0] > since:
                queue.put_nowait(logged)
        self.api.watchers.append(queue)
        try:
            while True:
                entry = await queue.get()
                if entry is None:
                    raise k8s.Unavailable("watch dropped")
                if entry[0] > since and self._matches(entry[2]):
                    yield k8s.WatchEvent(entry[1], copy.deepcopy(entry[3]))
        finally:
            self.api.watchers.remove(queue)


@dataclass
class FakeKubernetes:
    """An in-memory cluster (see module docstring)."""

    name: str = ""
    objects: dict[ObjKey, k8s.JSON] = field(default_factory=dict)
    version: int = 1
    compacted: int = 0
    log: list[tuple[int, str, ObjKey, k8s.JSON]] = field(default_factory=list)
    watchers: list[asyncio.Queue[tuple[int, str, ObjKey, k8s.JSON] | None]] = field(
        default_factory=list
    )
    events: list[k8s.JSON] = field(default_factory=list)
    status_writes: int = 0
    fail_status_write: Callable[[k8s.JSON], bool] = lambda obj: False
    remotes: dict[tuple[str, str], FakeKubernetes] = field(default_factory=dict)
    lease: k8s.Lease | None = None
    lease_version: int = 0
    _uids: itertools.count[int] = field(default_factory=itertools.count)

    # --------------------------------------------------------------- generic storage
    def put(self, obj: k8s.JSON) -> k8s.JSON:
        """Create or replace an object as a user would (bumps generation on spec changes)."""
        meta = obj.setdefault("metadata", {})
        key = (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
        old = self.objects.get(key)
        stored = copy.deepcopy(obj)
        smeta = stored["metadata"]
        if old is None:
            smeta.setdefault("uid", f"uid-{next(self._uids)}")
            smeta["generation"] = 1
        else:
            smeta["uid"] = old["metadata"]["uid"]
            same_spec = _body(old) == _body(stored)
            smeta["generation"] = old["metadata"]["generation"] + (0 if same_spec else 1)
            if "status" not in obj and "status" in old:
                stored["status"] = copy.deepcopy(old["status"])
            if _canonical(old, ignore_rv=True) == _canonical(stored, ignore_rv=True):
                return copy.deepcopy(old)
        self.version += 1
        smeta["resourceVersion"] = str(self.version)
        self.objects[key] = stored
        self._publish("ADDED" if old is None else "MODIFIED", key, stored)
        return copy.deepcopy(stored)

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        """Delete an object (no finalizers)."""
        key = (api_version, kind, namespace, name)
        old = self.objects.pop(key, None)
        if old is not None:
            self.version += 1
            old["metadata"]["resourceVersion"] = str(self.version)
            self._publish("DELETED", key, old)

    def _publish(self, kind: str, key: ObjKey, obj: k8s.JSON) -> None:
        entry = (self.version, kind, key, copy.deepcopy(obj))
        self.log.append(entry)
        for queue in self.watchers:
            queue.put_nowait(entry)

    def compact(self) -> None:
        """Forget the event log (old versions answer 410) and drop every watch."""
        self.compacted = self.version
        self.log.clear()
        for queue in list(self.watchers):
            queue.put_nowait(None)

    # --------------------------------------------------------------- Cluster
    async def resolve(self, kind: k8s.Kind) -> k8s.Kind:
        return kind

    def source(self, kind: k8s.Kind, namespace: str | None) -> k8s.ResourceSource:
        return _Source(self, kind, namespace)

    async def get(self, kind: k8s.Kind, namespace: str, name: str) -> k8s.JSON | None:
        found = self.objects.get((kind.api_version, kind.kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def close(self) -> None:
        return None

    # --------------------------------------------------------------- ClusterDirectory
    @property
    def local(self) -> k8s.Cluster:
        return self

    async def remote(self, namespace: str, name: str) -> k8s.Cluster:
        gc = self.objects.get(("gitops.weave.works/v1alpha1", "GitopsCluster", namespace, name))
        if gc is None:
            raise k8s.ClusterNotFound(f'GitopsCluster "{namespace}/{name}" not found')
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (gc.get("status") or {}).get("conditions", [])
        )
        if not ready:
            raise k8s.ClusterNotReady(f"Target cluster '{namespace}/{name}' not ready")
        return self.remotes[(namespace, name)]

    # --------------------------------------------------------------- PipelineStore
    @property
    def store(self) -> FakePipelineStore:
        """This fake as a ``PipelineStore``."""
        return FakePipelineStore(self)

    async def write_status(self, obj: k8s.JSON, new_status: k8s.JSON) -> k8s.JSON:
        """Replace the status of ``obj`` if its resourceVersion is current (else ``Conflict``)."""
        meta = obj["metadata"]
        key = (obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        current = self.objects.get(key)
        if current is None:
            raise k8s.NotFound(f'pipeline "{meta["namespace"]}/{meta["name"]}" not found')
        if self.fail_status_write(obj):
            raise k8s.Conflict("injected conflict")
        if current["metadata"]["resourceVersion"] != meta["resourceVersion"]:
            raise k8s.Conflict("the object has been modified")
        if _canonical(current.get("status")) == _canonical(new_status):
            return copy.deepcopy(current)
        stored = copy.deepcopy(current)
        stored["status"] = copy.deepcopy(new_status)
        self.version += 1
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.objects[key] = stored
        self.status_writes += 1
        self._publish("MODIFIED", key, stored)
        return copy.deepcopy(stored)

    # --------------------------------------------------------------- EventSink
    async def emit(self, pipeline: k8s.JSON, event: k8s.EventRecord) -> bool:
        if event.name and any(e["name"] == event.name for e in self.events):
            return False
        self.events.append(
            {
                "name": event.name,
                "pipeline": pipeline["metadata"]["name"],
                "reason": event.reason,
                "message": event.message,
                "warning": event.warning,
                "annotations": dict(event.annotations),
            }
        )
        return True

    # --------------------------------------------------------------- LeaseStore
    def lease_store(self) -> FakeLeaseStore:
        """A LeaseStore over this fake's single Lease."""
        return FakeLeaseStore(self)


class FakePipelineStore:
    """``PipelineStore`` over a ``FakeKubernetes``."""

    def __init__(self, api: FakeKubernetes) -> None:
        self._api = api

    async def get(self, namespace: str, name: str) -> k8s.JSON | None:
        return await self._api.get(PIPELINE_KIND, namespace, name)

    async def write_status(self, obj: k8s.JSON, status: k8s.JSON) -> k8s.JSON:
        return await self._api.write_status(obj, status)


class FakeLeaseStore:
    """``LeaseStore`` over a ``FakeKubernetes``."""

    def __init__(self, api: FakeKubernetes) -> None:
        self._api = api

    async def get(self) -> k8s.Lease | None:
        return self._api.lease

    async def create(self, lease: k8s.Lease) -> k8s.Lease:
        if self._api.lease is not None:
            raise k8s.Conflict("lease exists")
        return self._store(lease)

    async def update(self, lease: k8s.Lease) -> k8s.Lease:
        current = self._api.lease
        if current is None or current.resource_version != lease.resource_version:
            raise k8s.Conflict("lease changed")
        return self._store(lease)

    def _store(self, lease: k8s.Lease) -> k8s.Lease:
        self._api.lease_version += 1
        stored = k8s.Lease(
            holder=lease.holder,
            acquired=lease.acquired,
            renewed=lease.renewed,
            duration_seconds=lease.duration_seconds,
            transitions=lease.transitions,
            resource_version=str(self._api.lease_version),
        )
        self._api.lease = stored
        return stored


def _body(obj: k8s.JSON) -> str:
    return json.dumps(
        {k: v for k, v in obj.items() if k not in {"metadata", "status"}}, sort_keys=True
    )


def _canonical(obj: object, *, ignore_rv: bool = False) -> str:
    if ignore_rv and isinstance(obj, dict):
        obj = {
            **obj,
            "metadata": {
                k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"
            },
        }
    return json.dumps(obj, sort_keys=True)
