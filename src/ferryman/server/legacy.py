"""``POST /approval/<ns>/<pipeline>/<env>/<revision>``: the original approval, off by default.

Its signature covers only the (empty) body, so a captured request approves again whenever the
same revision waits again: a replay risk the original accepted. Ferryman serves it only with
``enable_legacy_approval`` (and logs a warning at start), requires an HMAC key (no unsigned
approvals), and records the approval as user ``legacy-hmac`` through the same write path as the
approval API, so quorum, approver lists and fail-closed rules apply unchanged.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ferryman.ports import auth
from ferryman.server import params, recording, signing
from ferryman.server.deps import Deps

log = logging.getLogger(__name__)

LEGACY_USER = "legacy-hmac"
WARNING = (
    "Legacy approval endpoint enabled: its HMAC covers an empty body, so a captured request "
    "can be replayed to approve the same revision again; prefer the approval API"
)


def routes(deps: Deps) -> list[Route]:
    """The legacy approval route (only call this when the option is on)."""
    log.warning(WARNING)
    parsed = signing.ParsedPipelines()

    async def legacy_approve(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        revision = params.revision(request.path_params["revision"])
        body = await request.body()
        await signing.authenticate(
            pipelines=deps.reader,
            parsed_pipelines=parsed,
            secrets=deps.secrets,
            namespace=namespace,
            name=name,
            environment=environment,
            body=body,
            signature=request.headers.get("x-signature"),
            require_key=True,
        )
        verdict = recording.Verdict(
            namespace=namespace,
            name=name,
            environment=environment,
            revision=revision,
            comment="",
            verb=recording.Verb.APPROVE,
        )
        outcome = await recording.record(deps, verdict, auth.Identity(user=LEGACY_USER))
        return JSONResponse(outcome.record.to_wire(), status_code=202)

    return [
        Route(
            "/approval/{namespace}/{name}/{environment}/{revision}",
            legacy_approve,
            methods=["POST"],
        )
    ]
