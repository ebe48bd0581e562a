"""Authenticate an HMAC-signed request to one pipeline environment, before its body is parsed.

The key is the ``hmac-key`` of the Secret named by the environment's ``strategy.secretRef`` (the
environment's own strategy first, then the pipeline-level one, so a key set once covers every
environment). Every failure — no such pipeline or environment, a Secret that is missing or holds
an empty key, a missing, malformed, unknown-algorithm or wrong signature — raises the same
``Unauthorized``, so the endpoint reveals neither which pipelines exist nor why a signature was
refused. A pipeline with no ``secretRef`` accepts unsigned requests (the original controller's
``generic`` provider) unless the caller insists on a key.

In a controller process none of this costs an API request: the Pipeline comes from the
controller's informer cache (``Deps.pipelines``), is parsed once per resourceVersion
(``ParsedPipelines``), and the key from the Secret cache (``secret_cache``). So an unknown
pipeline or environment, a wrong signature and a valid one all cost the API server nothing.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from ferryman.api import pipeline, validation
from ferryman.domain import errors as domain_errors
from ferryman.domain import signatures
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion
from ferryman.server import errors

log = logging.getLogger(__name__)

KEY_FIELD = "hmac-key"
MAX_PARSED: Final = 4096


class ParsedPipelines:
    """Pipelines parsed once per resourceVersion, the most recently used ``MAX_PARSED`` kept.

    Only Pipelines that exist are parsed, so the keys are bounded by the fleet, not by requests.
    """

    def __init__(self, max_entries: int = MAX_PARSED) -> None:
        self._max = max_entries
        self._parsed: OrderedDict[tuple[str, str], tuple[str, pipeline.Pipeline | None]] = (
            OrderedDict()
        )

    def parse(self, obj: k8s.JSON) -> pipeline.Pipeline | None:
        """``obj`` as a Pipeline (``None`` when it cannot be read as one)."""
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        version = str(meta.get("resourceVersion", ""))
        found = self._parsed.get(key)
        if found is not None and version and found[0] == version:
            self._parsed.move_to_end(key)
            return found[1]
        # An invalid spec is the controller's to report (Stalled); its key may still be usable.
        parsed, _ = validation.validate(obj)
        self._parsed[key] = (version, parsed)
        self._parsed.move_to_end(key)
        while len(self._parsed) > self._max:
            self._parsed.popitem(last=False)
        return parsed


@dataclass(frozen=True)
class Authenticated:
    """The pipeline and environment a request proved it may address."""

    obj: k8s.JSON
    subject: pipeline.Pipeline
    environment: pipeline.Environment
    signed: bool


def secret_ref(
    spec: pipeline.PipelineSpec, environment: pipeline.Environment
) -> pipeline.LocalObjectReference | None:
    """The Secret holding the environment's HMAC key, if one is configured."""
    own = environment.promotion.strategy if environment.promotion is not None else None
    if own is not None and own.secret_ref is not None:
        return own.secret_ref
    default = spec.promotion.strategy if spec.promotion is not None else None
    return default.secret_ref if default is not None else None


async def _key(
    secrets: promotion.SecretReader, namespace: str, ref: pipeline.LocalObjectReference
) -> bytes:
    try:
        data = await secrets.read(namespace, ref.name)
    except domain_errors.TemporaryError as exc:
        raise errors.HttpError(
            503, "the Kubernetes API server is unavailable; try again shortly"
        ) from exc
    except domain_errors.PermanentError:
        log.warning(
            "Webhook key secret unusable pipeline-namespace=%s secret=%s", namespace, ref.name
        )
        return b""
    # Raw: which bytes Flux signed with depends on its version (``signatures.key_candidates``).
    return data.get(KEY_FIELD, b"")


async def authenticate(
    *,
    pipelines: k8s.PipelineReader,
    secrets: promotion.SecretReader,
    namespace: str,
    name: str,
    environment: str,
    body: bytes,
    signature: str | None,
    require_key: bool,
    parsed_pipelines: ParsedPipelines | None = None,
) -> Authenticated:
    """The addressed pipeline environment, if the request is authentic (else ``Unauthorized``)."""
    obj = await pipelines.get(namespace, name)
    if obj is None:
        raise errors.Unauthorized()
    parsed = (parsed_pipelines or ParsedPipelines(1)).parse(obj)
    env = parsed.spec.environment(environment) if parsed is not None else None
    if parsed is None or env is None:
        raise errors.Unauthorized()
    ref = secret_ref(parsed.spec, env)
    if ref is None:
        if require_key:
            raise errors.Unauthorized()
        return Authenticated(obj, parsed, env, signed=False)
    key = await _key(secrets, namespace, ref)
    # Constant-time, and False for an empty key: a missing key fails closed.
    if not signatures.verify_any(signatures.key_candidates(key), body, signature):
        raise errors.Unauthorized()
    return Authenticated(obj, parsed, env, signed=True)
