"""``LeaseStore`` over one ``coordination.k8s.io/v1`` Lease (leader election)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import lightkube

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.ports import kubernetes as k8s

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    for fmt in (_FORMAT, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _to_lease(obj: k8s.JSON) -> k8s.Lease:
    spec = obj.get("spec") or {}
    return k8s.Lease(
        holder=spec.get("holderIdentity"),
        acquired=_time(spec.get("acquireTime")),
        renewed=_time(spec.get("renewTime")),
        duration_seconds=int(spec.get("leaseDurationSeconds") or 15),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=obj.get("metadata", {}).get("resourceVersion", ""),
    )


class LightkubeLeaseStore:
    """One named Lease in one namespace."""

    def __init__(self, client: lightkube.AsyncClient, *, namespace: str, name: str) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name

    def _body(self, lease: k8s.Lease) -> k8s.JSON:
        metadata: dict[str, Any] = {"name": self._name, "namespace": self._namespace}
        if lease.resource_version:
            metadata["resourceVersion"] = lease.resource_version
        spec: dict[str, Any] = {
            "holderIdentity": lease.holder,
            "leaseDurationSeconds": lease.duration_seconds,
            "leaseTransitions": lease.transitions,
        }
        if lease.acquired is not None:
            spec["acquireTime"] = lease.acquired.astimezone(UTC).strftime(_FORMAT)
        if lease.renewed is not None:
            spec["renewTime"] = lease.renewed.astimezone(UTC).strftime(_FORMAT)
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": spec,
        }

    async def get(self) -> k8s.Lease | None:
        try:
            with errors.translated():
                obj = await self._client.get(
                    resources.LEASE, urls.segment(self._name), namespace=urls.plain(self._namespace)
                )
        except k8s.NotFound:
            return None
        return _to_lease(dict(obj.to_dict()))

    async def create(self, lease: k8s.Lease) -> k8s.Lease:
        with errors.translated():
            # lightkube takes the URL's namespace from the body: it must need no escaping.
            urls.plain(self._namespace)
            obj = await self._client.create(resources.build(resources.LEASE, self._body(lease)))
        return _to_lease(dict(obj.to_dict()))

    async def update(self, lease: k8s.Lease) -> k8s.Lease:
        with errors.translated():
            obj = await self._client.replace(
                resources.build(resources.LEASE, self._body(lease)),
                urls.segment(self._name),
                namespace=urls.plain(self._namespace),
            )
        return _to_lease(dict(obj.to_dict()))
