"""The promotion event in Flux's event format, as the bytes Go's ``json.Marshal`` would send.

The original controller announced a promotion through fluxcd/pkg's event recorder: a Kubernetes
Event *and* an HTTP POST of an ``apis/event/v1beta1.Event`` to notification-controller's event
receiver, so an Alert on the Pipeline fires (Slack, a GitHub dispatch, ...). This module builds
that Event for one promotion:

- ``involvedObject``: the Pipeline (kind, namespace, name, uid, apiVersion) — no
  resourceVersion, which changes between attempts;
- ``severity`` ``info``, ``reason`` ``Promote``, the original's message
  ``Promote pipeline <ns>/<name> to <env> with version <version>``;
- ``metadata``: the original's keys ``environment`` and ``version`` (the value written into
  manifests), and the same prefixed with the Pipeline's API group — notification-controller
  keeps only keys prefixed with the involved object's group and strips the prefix before it
  forwards the event (``cleanupMetadata``, ``enhanceEventWithAlertMetadata``), so providers see
  ``environment`` and ``version`` whichever version it is — plus ``<group>/revision`` (the full
  revision) and ``<group>/token`` (the promotion's key, which notification-controller's
  duplicate filter includes in its key);
- ``reportingController`` ``pipeline-controller``, the original's, for receivers that match it;
  no ``reportingInstance`` (a pod name would change the bytes after a restart);
- ``timestamp``: when the promotion's first attempt began.

Every field derives from the promotion record, so an attempt after a crash sends the same bytes
again, and notification-controller's duplicate filter (429) recognises them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from ferryman.api import pipeline

REASON: Final = "Promote"
SEVERITY: Final = "info"
REPORTING_CONTROLLER: Final = "pipeline-controller"  # the original controller's name
# Escaped by Go even in valid strings (HTML safety, JavaScript line separators).
_HTML: Final = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SHORT: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class Promotion:
    """What the event is about."""

    namespace: str
    name: str
    uid: str
    environment: str
    revision: str  # the full revision (``6.6.1+0cc9a8446c95``)
    version: str  # the value written into manifests (``6.6.1``)
    key: str  # the promotion's idempotency key (``naming.event_key``)
    started_at: datetime | None  # when the first attempt began; ``None`` marshals as null


def message(promotion: Promotion) -> str:
    """The original controller's sentence."""
    return (
        f"Promote pipeline {promotion.namespace}/{promotion.name} to "
        f"{promotion.environment} with version {promotion.version}"
    )


def metadata(promotion: Promotion) -> dict[str, str]:
    """The event's metadata (module doc)."""
    group = pipeline.GROUP
    return {
        "environment": promotion.environment,
        "version": promotion.version,
        f"{group}/environment": promotion.environment,
        f"{group}/version": promotion.version,
        f"{group}/revision": promotion.revision,
        f"{group}/token": promotion.key,
    }


def encode(promotion: Promotion) -> bytes:
    """The Event as ``json.Marshal`` writes fluxcd/pkg's ``Event`` struct (field order, omitted
    empty fields, sorted map keys, Go's string escaping)."""
    involved = {
        "kind": pipeline.KIND,
        "namespace": promotion.namespace,
        "name": promotion.name,
        "uid": promotion.uid,
        "apiVersion": pipeline.API_VERSION,
    }
    stamp = promotion.started_at
    fields: list[tuple[str, str]] = [
        ("involvedObject", _object({k: v for k, v in involved.items() if v})),
        ("severity", _string(SEVERITY)),
        ("timestamp", _string(_rfc3339(stamp)) if stamp is not None else "null"),
        ("message", _string(message(promotion))),
        ("reason", _string(REASON)),
        ("metadata", _object(dict(sorted(metadata(promotion).items())))),
        ("reportingController", _string(REPORTING_CONTROLLER)),
    ]
    return ("{" + ",".join(f"{_string(k)}:{v}" for k, v in fields) + "}").encode("utf-8")


def _rfc3339(moment: datetime) -> str:
    """metav1.Time's JSON form: RFC 3339 in UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object(values: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{_string(k)}:{_string(v)}" for k, v in values.items()) + "}"


def _string(value: str) -> str:
    """A JSON string as Go's encoder writes it (HTML-safe, invalid UTF-8 as U+FFFD)."""
    out = []
    for char in value:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif char in _HTML:
            out.append(_HTML[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:  # a lone surrogate: not UTF-8
            out.append("\ufffd")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
