"""HTTP errors of the server and the one way they become responses.

    HttpError(status, message)   raised anywhere in a handler; rendered as a Kubernetes-style
                                 ``Status`` JSON body (kind, status, code, reason, message)
    └── Unauthorized()           every authentication failure, with one fixed body (no oracle)

Starlette's own ``HTTPException`` (unknown path 404, wrong method 405) and the ports' errors
(``Unavailable`` and friends: 503, fail closed) are rendered the same way. A message may name the
namespace, pipeline and environment of the path (JSON-escaped like every value); it never echoes
the request's headers, query or body, nor a path that did not route.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ferryman.ports import kubernetes as k8s

UNAUTHORIZED_MESSAGE = "unauthorized"


class HttpError(Exception):
    """A request that ends with ``status`` and a sentence for the caller."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or _reason(status)
        self.headers = dict(headers or {})


class Unauthorized(HttpError):
    """Authentication failed, whatever the cause: always the same status, body and headers."""

    def __init__(self, *, bearer: bool = False) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="ferryman"'} if bearer else None
        super().__init__(401, UNAUTHORIZED_MESSAGE, reason="Unauthorized", headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return "Error"


def status_body(status: int, message: str, reason: str = "") -> dict[str, object]:
    """A ``meta/v1 Status`` object, as the Kubernetes API answers errors (and kubectl shows)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if status < 400 else "Failure",
        "message": message,
        "reason": reason or _reason(status),
        "code": status,
    }


def status_response(
    status: int, message: str, *, reason: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    """The response for a status and message."""
    return JSONResponse(status_body(status, message, reason), status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Render a ``HttpError`` (registered for it alone; anything else fails closed as 500)."""
    del request
    if not isinstance(exc, HttpError):
        return status_response(500, "internal error")
    return status_response(exc.status, exc.message, reason=exc.reason, headers=exc.headers)


async def starlette_error(request: Request, exc: Exception) -> Response:
    """Render routing errors (404, 405) without echoing the path or method."""
    del request
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    messages = {404: "no such route", 405: "method not allowed on this route"}
    return status_response(code, messages.get(code, _reason(code)), headers=headers)


async def kubernetes_error(request: Request, exc: Exception) -> Response:
    """The API server could not answer: fail closed with 503 (never leak its error text)."""
    del request
    return status_response(
        503,
        "the Kubernetes API server is unavailable; try again shortly",
        headers={"Retry-After": "1"},
    )


HANDLERS = {
    HttpError: http_error,
    HTTPException: starlette_error,
    k8s.KubernetesError: kubernetes_error,
}
