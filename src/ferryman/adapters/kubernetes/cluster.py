"""A ``ports.kubernetes.Cluster`` over lightkube's ``AsyncClient`` with generic (dict) resources.

Discovery (``/apis/<group>``, ``/apis/<group>/<version>``) maps a kind to its plural and finds
the preferred served version when a spec names one the cluster no longer serves; results are
cached per cluster for the life of the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import lightkube
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.ports import kubernetes as k8s

FIELD_MANAGER = "ferryman"


class _Source:
    """List and watch one kind in one namespace through lightkube."""

    def __init__(
        self, client: lightkube.AsyncClient, resource: Any, namespace: str | None, namespaced: bool
    ) -> None:
        self._client = client
        self._resource = resource
        self._namespace = urls.segment(namespace) if namespace is not None else lightkube.ALL_NS
        self._namespaced = namespaced

    async def list(self) -> tuple[list[k8s.JSON], str]:
        with errors.translated():
            listing = (
                self._client.list(self._resource, namespace=self._namespace)
                if self._namespaced
                else self._client.list(self._resource)
            )
            items = [dict(item.to_dict()) async for item in listing]
            return items, listing.resourceVersion

    async def watch(self, resource_version: str) -> AsyncIterator[k8s.WatchEvent]:
        if self._namespaced:
            stream = self._client.watch(
                self._resource,
                namespace=self._namespace,
                resource_version=resource_version,
                server_timeout=300,
            )
        else:
            stream = self._client.watch(
                self._resource, resource_version=resource_version, server_timeout=300
            )
        with errors.translated():
            async for kind, obj in stream:
                yield k8s.WatchEvent(type=kind, object=dict(obj.to_dict()))


class LightkubeCluster:
    """One API server reached through a kubeconfig."""

    def __init__(self, name: str, config: SingleConfig, *, timeout: float = 10.0) -> None:
        self.name = name
        self._timeout = httpx2.Timeout(timeout)
        self._client = lightkube.AsyncClient(
            config, timeout=self._timeout, field_manager=FIELD_MANAGER, trust_env=False
        )
        self._http = client_adapter.AsyncClient(
            config, client_adapter.ConnectionParams(timeout=self._timeout, trust_env=False)
        )
        self._plurals: dict[tuple[str, str], tuple[str, bool]] = {}
        self._resolved: dict[k8s.Kind, k8s.Kind] = {}

    @classmethod
    def connect(
        cls,
        name: str,
        *,
        path: str | None = None,
        document: dict[str, Any] | None = None,
        context: str | None = None,
    ) -> LightkubeCluster:
        """From a kubeconfig document, a kubeconfig file, or the environment (KUBECONFIG,
        ~/.kube/config, in-cluster service account), in that order."""
        if document is not None:
            return cls.from_kubeconfig(name, document, context=context)
        config = KubeConfig.from_file(path) if path else KubeConfig.from_env()
        single = config.get(context_name=context)
        if single is None:
            raise k8s.KubernetesError(f'kubeconfig has no context "{context or "current"}"')
        return cls(name, single)

    @classmethod
    def from_kubeconfig(
        cls, name: str, kubeconfig: dict[str, Any], *, context: str | None = None
    ) -> LightkubeCluster:
        """Build from a parsed kubeconfig document (e.g. out of a GitopsCluster's Secret)."""
        single = KubeConfig.from_dict(kubeconfig).get(context_name=context)
        if single is None:
            raise k8s.KubernetesError(f'kubeconfig has no context "{context or "current"}"')
        return cls(name, single)

    @property
    def client(self) -> lightkube.AsyncClient:
        """The lightkube client (for the other Kubernetes adapters)."""
        return self._client

    async def _get_json(self, path: str) -> k8s.JSON:
        with errors.translated():
            response = await self._http.get(path)
            response.raise_for_status()
            body: k8s.JSON = response.json()
            return body

    async def _resources(self, api_version: str) -> dict[str, tuple[str, bool]]:
        listing = await self._get_json(urls.api_path(api_version))
        found = {}
        for entry in listing.get("resources", []):
            if "/" not in entry.get("name", ""):
                found[entry["kind"]] = (entry["name"], bool(entry.get("namespaced", True)))
        return found

    async def resolve(self, kind: k8s.Kind) -> k8s.Kind:
        if kind in self._resolved:
            return self._resolved[kind]
        try:
            served = await self._resources(kind.api_version)
        except k8s.NotFound:
            served = {}
        if kind.kind in served:
            self._plurals[(kind.api_version, kind.kind)] = served[kind.kind]
            self._resolved[kind] = kind
            return kind
        if not kind.group:
            raise k8s.NotFound(f"{kind.api_version} {kind.kind} is not served")
        group = await self._get_json(f"/apis/{urls.segment(kind.group)}")
        versions = [v["groupVersion"] for v in group.get("versions", [])]
        preferred = group.get("preferredVersion", {}).get("groupVersion")
        for candidate in ([preferred] if preferred else []) + versions:
            served = await self._resources(candidate)
            if kind.kind in served:
                found = k8s.Kind(candidate, kind.kind)
                self._plurals[(candidate, kind.kind)] = served[kind.kind]
                self._resolved[kind] = found
                return found
        raise k8s.NotFound(f"no served version of {kind.group} has kind {kind.kind}")

    def resource(self, kind: k8s.Kind) -> Any:
        """The lightkube generic resource class of a resolved kind."""
        plural, namespaced = self._plurals[(kind.api_version, kind.kind)]
        group, _, version = kind.api_version.rpartition("/")
        return resources.kind_class(group, version, kind.kind, plural, namespaced=namespaced)

    def source(self, kind: k8s.Kind, namespace: str | None) -> k8s.ResourceSource:
        namespaced = self._plurals[(kind.api_version, kind.kind)][1]
        return _Source(self._client, self.resource(kind), namespace, namespaced)

    async def get(self, kind: k8s.Kind, namespace: str, name: str) -> k8s.JSON | None:
        resolved = await self.resolve(kind)
        try:
            with errors.translated():
                obj = await self._client.get(
                    self.resource(resolved), urls.segment(name), namespace=urls.segment(namespace)
                )
        except k8s.NotFound:
            return None
        return dict(obj.to_dict())

    async def close(self) -> None:
        await self._client.close()
        await self._http.aclose()
