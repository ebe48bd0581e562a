"""The body of ``POST /promotion/...``: a Flux event, read as leniently as Flux writes it.

notification-controller's ``generic`` and ``generic-hmac`` providers post fluxcd/pkg's
``apis/event/v1beta1.Event`` as Go's ``json.Marshal`` writes it. Go decodes it into that struct,
so a field may be missing or ``null`` (a zero ``metav1.Time`` marshals as ``"timestamp":null``,
which Flux's own test events carry), unknown fields are ignored, and only a value of the wrong
type — or a timestamp that is not RFC 3339 — makes the body malformed. ``parse`` follows the same
rules: malformed is ``HttpError`` 400, anything else is an event.

``ignored`` then says whether a well-formed event can concern the environment at all: an event
about another object (Alerts with wildcard sources forward everything) or without a revision
(``HealthCheckCanceled``, ...) is acknowledged and counted, not refused — a refusal would be
recorded by Flux as a failed dispatch, with a Warning on the Alert, every time.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Collection

import pydantic
from pydantic import Field

from ferryman.api import pipeline
from ferryman.server import bodies


class Ignored(enum.StrEnum):
    """Why a well-formed, authentic event is acknowledged without a reconcile (metric label)."""

    OTHER_OBJECT = "other-object"  # not the pipeline's app (kind or name)
    OTHER_NAMESPACE = "other-namespace"  # the app, but not in one of the environment's targets
    NO_REVISION = "no-revision"  # nothing to promote from (HealthCheckCanceled, progress events)


class InvolvedObject(pydantic.BaseModel):
    """``corev1.ObjectReference``: every field optional, as in Go."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True, strict=True)

    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")


class FluxEvent(pydantic.BaseModel):
    """The fields of a Flux ``Event`` the receiver reads (others are ignored, as Go does)."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True, strict=True)

    involved_object: InvolvedObject | None = Field(default=None, alias="involvedObject")
    severity: str | None = None
    timestamp: str | None = None
    message: str | None = None
    reason: str | None = None
    metadata: dict[str, str | None] | None = None
    reporting_controller: str | None = Field(default=None, alias="reportingController")

    @pydantic.field_validator("timestamp")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                datetime.datetime.fromisoformat(value)
            except ValueError as exc:
                raise ValueError("not an RFC 3339 time") from exc
        return value

    @property
    def subject(self) -> InvolvedObject:
        """The involved object (all empty when the event names none)."""
        return self.involved_object or InvolvedObject()

    @property
    def revision(self) -> str:
        """``metadata.revision`` (Flux may prefix keys with the API group: ``<group>/revision``)."""
        for key, value in (self.metadata or {}).items():
            if value and (key == "revision" or key.endswith("/revision")):
                return value
        return ""


def parse(body: bytes) -> FluxEvent:
    """The event in ``body``; ``HttpError`` 400 when Go could not decode it into an Event."""
    return bodies.parse(body, FluxEvent, what="a Flux event object", invalid=400)


def ignored(event: FluxEvent, app: pipeline.AppRef, namespaces: Collection[str]) -> Ignored | None:
    """Why ``event`` cannot concern an environment with these target ``namespaces``, or ``None``."""
    subject = event.subject
    if subject.kind != app.kind or subject.name != app.name:
        return Ignored.OTHER_OBJECT
    if (subject.namespace or "") not in namespaces:
        return Ignored.OTHER_NAMESPACE
    if not event.revision:
        return Ignored.NO_REVISION
    return None
