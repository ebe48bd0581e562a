"""``POST /promotion/<ns>/<pipeline>/<env>``: Flux events as reconcile triggers.

Flux's ``generic`` and ``generic-hmac`` providers post an ``Event`` (``involvedObject``,
``severity``, ``timestamp``, ``message``, ``reason``, ``metadata.revision``,
``reportingController``). The order of checks is the security argument:

1. the body is bounded (``limits.BodyLimit``) and read raw;
2. the signature is verified over those raw bytes, constant-time, before any parsing
   (``signing.authenticate``; every failure is the same 401);
3. the event is parsed (400 when not JSON, 422 when not a Flux event) and must name the
   pipeline's app (kind and name) in one of the environment's target namespaces (else 422);
4. the pipeline is enqueued and 202 returned at once.

The event is a trigger, never a command: nothing here writes status, so a replayed or forged-but-
valid event can only make the controller look again at observed state, which decides alone.
"""

from __future__ import annotations

import logging
from typing import Annotated

import pydantic
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.server import bodies, errors, params, signing
from ferryman.server.deps import Deps

log = logging.getLogger(__name__)

Short = Annotated[str, Field(max_length=253)]


class InvolvedObject(pydantic.BaseModel):
    """The object the event is about (a HelmRelease, Kustomization, ...)."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)

    kind: Annotated[str, Field(min_length=1, max_length=63)]
    name: Annotated[str, Field(min_length=1, max_length=253)]
    namespace: Annotated[str, Field(max_length=63)] = ""
    api_version: Short = Field(default="", alias="apiVersion")


class FluxEvent(pydantic.BaseModel):
    """The fields of a notification-controller ``Event`` the receiver reads."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)

    involved_object: InvolvedObject = Field(alias="involvedObject")
    severity: Short = ""
    timestamp: Short = ""
    message: str = ""
    reason: Short = ""
    metadata: dict[str, str] = Field(default_factory=dict)
    reporting_controller: Short = Field(default="", alias="reportingController")

    @property
    def revision(self) -> str:
        """``metadata.revision`` (Flux may prefix keys with the API group: ``<group>/revision``)."""
        for key, value in self.metadata.items():
            if key == "revision" or key.endswith("/revision"):
                return value
        return ""


def parse_event(body: bytes) -> FluxEvent:
    """The event in ``body``; ``HttpError`` 400 (not JSON) or 422 (not a usable event)."""
    event = bodies.parse(body, FluxEvent, what="a Flux event object")
    if not event.revision:
        raise errors.HttpError(422, "the event has no metadata.revision")
    return event


def routes(deps: Deps) -> list[Route]:
    """The event receiver's route."""

    async def receive_event(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        body = await request.body()
        found = await signing.authenticate(
            store=deps.store,
            secrets=deps.secrets,
            namespace=namespace,
            name=name,
            environment=environment,
            body=body,
            signature=request.headers.get("x-signature"),
            require_key=False,
        )
        event = parse_event(body)
        app = found.subject.spec.app_ref
        involved = event.involved_object
        namespaces = {target.namespace for target in found.environment.targets}
        if involved.kind != app.kind or involved.name != app.name:
            raise errors.HttpError(
                422, f'the event is not about the pipeline\'s app {app.kind} "{app.name}"'
            )
        if involved.namespace not in namespaces:
            raise errors.HttpError(
                422,
                f'the event\'s namespace is not a target namespace of environment "{environment}"',
            )
        deps.trigger.enqueue(namespace, name)
        log.info(
            "Accepted promotion event pipeline=%s/%s environment=%s signed=%s",
            namespace,
            name,
            environment,
            found.signed,
        )
        return errors.status_response(
            202, f'reconcile of pipeline "{namespace}/{name}" requested', reason="Accepted"
        )

    return [Route("/promotion/{namespace}/{name}/{environment}", receive_event, methods=["POST"])]
