"""Authenticate an HMAC-signed request to one pipeline environment, before its body is parsed.

The key is the ``hmac-key`` of the Secret named by the environment's ``strategy.secretRef`` (the
environment's own strategy first, then the pipeline-level one, so a key set once covers every
environment). Every failure — no such pipeline or environment, a Secret that is missing or holds
an empty key, a missing, malformed, unknown-algorithm or wrong signature — raises the same
``Unauthorized``, so the endpoint reveals neither which pipelines exist nor why a signature was
refused. A pipeline with no ``secretRef`` accepts unsigned requests (the original controller's
``generic`` provider) unless the caller insists on a key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ferryman.api import pipeline, validation
from ferryman.domain import errors as domain_errors
from ferryman.domain import signatures
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion
from ferryman.server import errors

log = logging.getLogger(__name__)

KEY_FIELD = "hmac-key"


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
    store: k8s.PipelineStore,
    secrets: promotion.SecretReader,
    namespace: str,
    name: str,
    environment: str,
    body: bytes,
    signature: str | None,
    require_key: bool,
) -> Authenticated:
    """The addressed pipeline environment, if the request is authentic (else ``Unauthorized``)."""
    obj = await store.get(namespace, name)
    if obj is None:
        raise errors.Unauthorized()
    # An invalid spec is the controller's to report (Stalled); its key may still be usable.
    parsed, _ = validation.validate(obj)
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
