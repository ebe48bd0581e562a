"""``ClusterDirectory``: the local cluster plus remote ones reached through ``GitopsCluster``s.

A GitopsCluster names its kubeconfig either by ``spec.secretRef`` (key ``kubeconfig``) or by
``spec.capiClusterRef`` (Cluster API's Secret ``<cluster>-kubeconfig``, key ``value``). Its
``Ready`` condition gates use. Clients are cached per GitopsCluster and rebuilt when the Secret's
resourceVersion changes; the kubeconfig itself is never logged or put into an error.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

import yaml

from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.ports import kubernetes as k8s

log = logging.getLogger(__name__)

GITOPS_CLUSTER = k8s.Kind("gitops.weave.works/v1alpha1", "GitopsCluster")
SECRET = k8s.Kind("v1", "Secret")


def _ready(obj: k8s.JSON) -> tuple[bool, str]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return True, ""
            return False, str(condition.get("message") or condition.get("reason") or "")
    return False, "no Ready condition"


class GitopsClusterDirectory:
    """Remote clusters by GitopsCluster, cached and rebuilt when their Secret changes."""

    def __init__(self, local: cluster_adapter.LightkubeCluster) -> None:
        self._local = local
        self._remote: dict[tuple[str, str], tuple[str, cluster_adapter.LightkubeCluster]] = {}

    @property
    def local(self) -> k8s.Cluster:
        return self._local

    async def _secret(self, namespace: str, spec: dict[str, Any], label: str) -> tuple[str, str]:
        if isinstance(spec.get("secretRef"), dict) and spec["secretRef"].get("name"):
            secret_name, key = spec["secretRef"]["name"], "kubeconfig"
        elif isinstance(spec.get("capiClusterRef"), dict) and spec["capiClusterRef"].get("name"):
            secret_name, key = f"{spec['capiClusterRef']['name']}-kubeconfig", "value"
        else:
            raise k8s.ClusterUnavailable(
                f"{label} has neither spec.secretRef nor spec.capiClusterRef"
            )
        secret = await self._local.get(SECRET, namespace, secret_name)
        if secret is None:
            raise k8s.ClusterUnavailable(f'{label}: secret "{namespace}/{secret_name}" not found')
        encoded = (secret.get("data") or {}).get(key)
        if not encoded:
            raise k8s.ClusterUnavailable(
                f'{label}: secret "{namespace}/{secret_name}" has no key "{key}"'
            )
        try:
            text = base64.b64decode(encoded).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise k8s.ClusterUnavailable(
                f'{label}: secret "{namespace}/{secret_name}" key "{key}" is not text'
            ) from exc
        return str(secret["metadata"].get("resourceVersion", "")), text

    async def remote(self, namespace: str, name: str) -> k8s.Cluster:
        label = f'GitopsCluster "{namespace}/{name}"'
        obj = await self._local.get(GITOPS_CLUSTER, namespace, name)
        if obj is None:
            raise k8s.ClusterNotFound(f"{label} not found")
        ready, why = _ready(obj)
        if not ready:
            raise k8s.ClusterNotReady(f"Target cluster '{namespace}/{name}' not ready: {why}")
        version, text = await self._secret(namespace, obj.get("spec") or {}, label)
        cached = self._remote.get((namespace, name))
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            document = yaml.safe_load(text)
            built = cluster_adapter.LightkubeCluster.from_kubeconfig(
                f"{namespace}/{name}", document
            )
        except (yaml.YAMLError, k8s.KubernetesError, ValueError, KeyError, TypeError) as exc:
            raise k8s.ClusterUnavailable(f"{label}: the kubeconfig cannot be used") from exc
        if cached is not None:
            await cached[1].close()
            log.info("Rebuilt cluster client cluster=%s/%s", namespace, name)
        self._remote[(namespace, name)] = (version, built)
        return built

    async def close(self) -> None:
        """Close every client."""
        for _, built in self._remote.values():
            await built.close()
        self._remote.clear()
        await self._local.close()
