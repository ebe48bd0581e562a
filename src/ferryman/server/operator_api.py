"""The operator API: hold, unhold, promote a chosen revision, roll back, verify again, and see the
change.

``POST /api/v1/namespaces/<ns>/pipelines/<name>/environments/<env>/hold`` (and ``/unhold``,
``/promote``, ``/rollback``, ``/verify``), body ``{"comment": "...", "revision": "...", "force":
false}``; ``GET …/diff``. Order of checks, as for approvals: identity (TokenReview, 401),
permission (SubjectAccessReview on ``pipelines`` with the pipeline's name, 403: verb ``hold`` for
hold and unhold, ``promote`` for promote and rollback, and also ``force`` for a forced promote,
``verify`` for verify; ``get`` for the diff), the body (422), then the domain's rules
(``domain.holds``, ``domain.verification``: 404, 409, 422). Writes go through ``writes``
(resourceVersion-checked); each records an Event naming the operator. Answers 202 with the
environment's hold, promotion record and verification.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pydantic
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ferryman.api import pipeline, status
from ferryman.domain import holds, verification
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import access, bodies, errors, params, writes
from ferryman.server.deps import Deps

log = logging.getLogger(__name__)

BASE = "/api/v1/namespaces/{namespace}/pipelines/{name}/environments/{environment}"
_STATUS = {
    holds.Refusal.UNKNOWN_ENVIRONMENT: 404,
    holds.Refusal.NOT_PROMOTABLE: 409,
    holds.Refusal.UNKNOWN_REVISION: 422,
    holds.Refusal.NO_EARLIER_REVISION: 409,
    holds.Refusal.BAD_REVISION: 422,
    holds.Refusal.NOT_VERIFIABLE: 409,
    holds.Refusal.VERIFYING: 409,
}
_EVENTS = {
    "hold": "Held",
    "unhold": "Unheld",
    "promote": "Pinned",
    "rollback": "RolledBack",
    "verify": "VerifyRequested",
}
_DONE = {"verify": "checks run again"}  # the Event's words where the reason's do not read well


class OperatorBody(pydantic.BaseModel):
    """What the caller sends (every field optional; ``revision`` is required by ``promote``)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    comment: Annotated[str, Field(max_length=status.MAX_COMMENT_LENGTH)] = ""
    revision: Annotated[str, Field(min_length=1, max_length=status.MAX_REVISION_LENGTH)] | None = (
        None
    )
    force: bool = False


def _body(raw: bytes) -> OperatorBody:
    if not raw.strip():
        return OperatorBody()
    return bodies.parse(
        raw, OperatorBody, what='a JSON object like {"comment": "why"}', malformed=422
    )


def _change(
    action: str, body: OperatorBody, environment: str, identity: auth.Identity, deps: Deps
) -> writes.Change:
    """The domain function for ``action``, bound to this request."""
    now = deps.clock.now()

    def change(parsed: pipeline.Pipeline) -> status.PipelineStatus:
        current, spec, user = parsed.status, parsed.spec, identity.user
        try:
            if action == "hold":
                return holds.hold(
                    current, spec, environment, user=user, comment=body.comment, now=now
                )
            if action == "unhold":
                return holds.unhold(
                    current, spec, environment, user=user, comment=body.comment, now=now
                )
            if action == "rollback":
                return holds.rollback(
                    current, spec, environment, user=user, comment=body.comment, now=now
                )
            if action == "verify":
                return verification.rerun(
                    current, spec, environment, user=user, comment=body.comment, now=now
                )
            return holds.pin(
                current,
                spec,
                environment,
                revision=body.revision or "",
                user=user,
                comment=body.comment,
                now=now,
                force=body.force,
            )
        except holds.OperatorRefused as exc:
            raise errors.HttpError(
                _STATUS[exc.refusal], str(exc), reason=exc.refusal.value
            ) from exc

    return change


def _answer(subject: pipeline.Pipeline, environment: str) -> dict[str, Any]:
    env = subject.status.environments.get(environment) or status.EnvironmentStatus()
    answer: dict[str, Any] = {"environment": environment, "revision": env.revision}
    if env.hold is not None:
        answer["hold"] = env.hold.to_wire()
    if env.promotion is not None:
        answer["promotion"] = env.promotion.to_wire()
    if env.verification is not None:
        answer["verification"] = env.verification.to_wire()
    return answer


async def _announce(
    deps: Deps,
    obj: k8s.JSON,
    action: str,
    environment: str,
    identity: auth.Identity,
    body: OperatorBody,
) -> None:
    reason = _EVENTS[action]
    message = f"{environment} {_DONE.get(action, reason.lower())} by {identity.user}"
    if body.comment:
        message += f": {body.comment}"
    annotations = {"environment": environment, "pipelines.weave.works/actor": identity.user}
    event = k8s.EventRecord(reason=reason, message=message, action=reason, annotations=annotations)
    log.info("%s environment=%s user=%s", reason, environment, identity.user)
    try:
        await deps.events.emit(obj, event)
    except k8s.KubernetesError as exc:
        # Status already holds the action; a lost Event must not turn the answer into an error.
        log.warning("Could not record event reason=%s error=%s", reason, type(exc).__name__)


def verb_of(action: str) -> str:
    """The RBAC verb an operator action needs (``force`` comes on top for a forced promote)."""
    if action == "verify":
        return "verify"
    return "hold" if action in ("hold", "unhold") else "promote"


async def perform(
    deps: Deps,
    identity: auth.Identity,
    *,
    namespace: str,
    name: str,
    environment: str,
    action: str,
    body: OperatorBody,
) -> writes.Written:
    """Carry out ``action`` for a caller already allowed ``verb_of(action)`` on the pipeline."""
    if body.force:
        await access.require(deps, identity, "force", namespace=namespace, name=name)
    if action == "promote" and body.revision is None:
        raise errors.HttpError(422, "revision: a revision to promote is required")
    if body.revision is not None and not params.is_revision(body.revision):
        raise errors.HttpError(422, f"revision: {params.REVISION_RULE}")
    change = _change(action, body, environment, identity, deps)
    written = await writes.write(deps, namespace, name, change, doing="acting on it")
    if written.changed:
        await _announce(deps, written.obj, action, environment, identity, body)
    return written


def _handler(deps: Deps, action: str) -> Callable[[Request], Awaitable[Response]]:
    async def act(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        identity = await access.identify(deps, request)
        await access.require(deps, identity, verb_of(action), namespace=namespace, name=name)
        body = _body(await request.body())
        written = await perform(
            deps,
            identity,
            namespace=namespace,
            name=name,
            environment=environment,
            action=action,
            body=body,
        )
        return JSONResponse(_answer(written.subject, environment), status_code=202)

    return act


ACTIONS = tuple(_EVENTS)


def routes(deps: Deps) -> list[Route]:
    """The operator routes and the diff."""

    async def diff(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        identity = await access.identify(deps, request)
        await access.require(deps, identity, "get", namespace=namespace, name=name)
        obj = await deps.store.get(namespace, name)
        if obj is None:
            raise errors.HttpError(
                404, f'pipeline "{namespace}/{name}" not found', reason="NotFound"
            )
        try:
            current = status.PipelineStatus.model_validate(obj.get("status") or {})
        except pydantic.ValidationError as exc:
            raise errors.HttpError(
                409, f'pipeline "{namespace}/{name}" has no readable status'
            ) from exc
        env = current.environments.get(environment)
        record = env.promotion if env is not None else None
        answer: dict[str, Any] = {"environment": environment}
        if record is not None:
            answer |= {"revision": record.revision, "phase": record.phase.value}
            if record.change is not None:
                answer["change"] = record.change.to_wire()
        return JSONResponse(answer)

    return [
        *(
            Route(f"{BASE}/{action}", _handler(deps, action), methods=["POST"])
            for action in _EVENTS
        ),
        Route(f"{BASE}/diff", diff, methods=["GET"]),
    ]
