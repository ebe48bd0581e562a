"""``PipelineStore``: read Pipelines and replace their status with a resourceVersion precondition.

Status is written with ``PUT .../status`` carrying the resourceVersion that was read, so a write
computed from stale state fails with 409 (``Conflict``) instead of overwriting someone else's
change — an approval recorded by the API a moment earlier, for instance.
"""

from __future__ import annotations

from typing import Any

import lightkube

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.ports import kubernetes as k8s


class LightkubePipelineStore:
    """Pipelines on the controller's own cluster."""

    def __init__(self, client: lightkube.AsyncClient) -> None:
        self._client = client

    async def get(self, namespace: str, name: str) -> k8s.JSON | None:
        try:
            with errors.translated():
                obj = await self._client.get(
                    resources.PIPELINE, urls.segment(name), namespace=urls.segment(namespace)
                )
        except k8s.NotFound:
            return None
        return dict(obj.to_dict())

    async def write_status(self, obj: k8s.JSON, status: k8s.JSON) -> k8s.JSON:
        metadata: dict[str, Any] = obj["metadata"]
        body = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": {
                "name": metadata["name"],
                "namespace": metadata["namespace"],
                "resourceVersion": metadata["resourceVersion"],
            },
            "status": status,
        }
        with errors.translated():
            stored = await self._client.replace(
                resources.build(resources.PIPELINE.Status, body),
                urls.segment(metadata["name"]),
                namespace=urls.plain(metadata["namespace"]),
            )
        return dict(stored.to_dict())
