"""The approval API: ``POST /api/v1/namespaces/<ns>/pipelines/<name>/environments/<env>/approve``
(and ``/reject``), body ``{"revision": "...", "comment": "..."}``, ``Authorization: Bearer``.

Order of checks: identity (TokenReview, 401), permission (SubjectAccessReview for verb
``approve``/``reject`` on ``pipelines.pipelines.weave.works`` with the pipeline's name, 403), then
the body (422), then the spec's own approver lists and the record's state (``recording``; 403,
404, 409). Answers 202 with the promotion record as stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import pydantic
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ferryman.api import status
from ferryman.server import access, bodies, errors, params, recording
from ferryman.server.deps import Deps

# The comment is stored whole in status (``status.MAX_COMMENT_LENGTH`` bounds its size there), so
# a longer one is refused with 422 naming the limit rather than cut.
MAX_COMMENT_LENGTH = status.MAX_COMMENT_LENGTH


class VerdictBody(pydantic.BaseModel):
    """What the caller sends."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    revision: Annotated[str, Field(min_length=1, max_length=status.MAX_REVISION_LENGTH)]
    comment: Annotated[str, Field(max_length=MAX_COMMENT_LENGTH)] = ""


def routes(deps: Deps) -> list[Route]:
    """The approve and reject routes."""

    def handler(verb: recording.Verb) -> Callable[[Request], Awaitable[Response]]:
        async def decide(request: Request) -> Response:
            namespace, name = params.pipeline(request.path_params)
            environment = params.environment(request.path_params["environment"])
            identity = await access.identify(deps, request)
            await access.require(deps, identity, verb.value, namespace=namespace, name=name)
            body = bodies.parse(
                await request.body(),
                VerdictBody,
                what='a JSON object like {"revision": "1.2.3"}',
                malformed=422,
            )
            if not params.is_revision(body.revision):
                raise errors.HttpError(422, f"revision: {params.REVISION_RULE}")
            verdict = recording.Verdict(
                namespace=namespace,
                name=name,
                environment=environment,
                revision=body.revision,
                comment=body.comment,
                verb=verb,
            )
            outcome = await recording.record(deps, verdict, identity)
            return JSONResponse(outcome.record.to_wire(), status_code=202)

        return decide

    base = "/api/v1/namespaces/{namespace}/pipelines/{name}/environments/{environment}"
    return [
        Route(f"{base}/approve", handler(recording.Verb.APPROVE), methods=["POST"]),
        Route(f"{base}/reject", handler(recording.Verb.REJECT), methods=["POST"]),
    ]
