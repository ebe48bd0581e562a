"""``SecretReader``: credentials from Secrets in the Pipeline's namespace, decoded, never logged."""

from __future__ import annotations

import base64
import binascii

import lightkube

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.domain import errors as promotion_errors
from ferryman.ports import kubernetes as k8s


class LightkubeSecretReader:
    """Reads Secrets on the controller's own cluster."""

    def __init__(self, client: lightkube.AsyncClient) -> None:
        self._client = client

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        try:
            with errors.translated():
                obj = await self._client.get(
                    resources.SECRET, urls.segment(name), namespace=urls.segment(namespace)
                )
        except k8s.NotFound as exc:
            raise promotion_errors.PermanentError(
                f'secret "{namespace}/{name}" not found', reason="SecretNotFound"
            ) from exc
        except k8s.KubernetesError as exc:
            raise promotion_errors.TemporaryError(
                f'cannot read secret "{namespace}/{name}": {type(exc).__name__}'
            ) from exc
        data = dict(obj.to_dict()).get("data") or {}
        try:
            return {key: base64.b64decode(value) for key, value in data.items()}
        except (binascii.Error, TypeError) as exc:
            raise promotion_errors.PermanentError(
                f'secret "{namespace}/{name}" holds data that is not base64',
                reason="SecretInvalid",
            ) from exc
