"""``POST /promotion/<ns>/<pipeline>/<env>``: Flux events as reconcile triggers.

Flux's ``generic`` and ``generic-hmac`` providers post an ``Event`` (``involvedObject``,
``severity``, ``timestamp``, ``message``, ``reason``, ``metadata.revision``,
``reportingController``). The order of checks is the security argument:

1. the body is bounded (``limits.BodyLimit``) and, per client and environment, the request rate
   (``hook_limits.HookRateLimit``), and the body is read raw;
2. the signature is verified over those raw bytes, constant-time, before any parsing
   (``signing.authenticate``; every failure is the same 401);
3. the event is parsed as Go decodes it (``flux_events.parse``: 400 only when malformed); one
   that cannot concern this environment — another object, another namespace, no revision — is
   acknowledged with 202 and counted by reason (``flux_events.ignored``), never refused, since
   Flux records a refusal as a failed dispatch on the Alert every time;
4. the pipeline is enqueued and 202 returned at once.

The event is a trigger, never a command: nothing here writes status, so a replayed or forged-but-
valid event can only make the controller look again at observed state, which decides alone.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.server import errors, flux_events, metrics, params, signing
from ferryman.server.deps import Deps

log = logging.getLogger(__name__)


def routes(deps: Deps, counters: metrics.HookMetrics | None = None) -> list[Route]:
    """The event receiver's route (``counters``: where ignored events are counted)."""
    parsed = signing.ParsedPipelines()

    async def receive_event(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        body = await request.body()
        found = await signing.authenticate(
            pipelines=deps.reader,
            parsed_pipelines=parsed,
            secrets=deps.secrets,
            namespace=namespace,
            name=name,
            environment=environment,
            body=body,
            signature=request.headers.get("x-signature"),
            require_key=False,
        )
        event = flux_events.parse(body)
        app = found.subject.spec.app_ref
        namespaces = {target.namespace for target in found.environment.targets}
        why = flux_events.ignored(event, app, namespaces)
        if why is not None:
            if counters is not None:
                counters.ignored.labels(reason=why.value).inc()
            log.debug(
                "Ignored promotion event pipeline=%s/%s environment=%s reason=%s",
                namespace,
                name,
                environment,
                why.value,
            )
            return errors.status_response(
                202,
                f"the event cannot concern environment {environment!r}: {why.value}",
                reason="Ignored",
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
