"""Kubernetes ``Status`` errors: the one exception type every layer of the API server raises.

Hierarchy: ``ApiError`` is the only class; its ``code``/``reason`` pair says which Kubernetes
``StatusReason`` it is. The HTTP layer turns any ``ApiError`` into a ``Status`` body, so handlers
raise instead of building responses, and a rejected request never reaches the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatusCause:
    """One entry of ``Status.details.causes`` (the JSON key of ``type`` is ``reason``)."""

    type: str
    message: str
    field: str = ""

    def to_json(self) -> dict[str, str]:
        """Render as Kubernetes does, omitting an empty field path."""
        out = {"reason": self.type, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class ApiError(Exception):
    """A request failure carrying everything a Kubernetes ``Status`` needs."""

    code: int
    reason: str
    message: str
    name: str = ""
    group: str = ""
    kind: str = ""
    causes: list[StatusCause] = field(default_factory=list)
    retry_after: int = 0

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_status(self) -> dict[str, Any]:
        """The ``Status`` object sent on the wire."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_json() for c in self.causes]
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            status["details"] = details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    """``pipelines.pipelines.weave.works "web" not found``."""
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(resource, group)} "{name}" not found',
        name=name,
        group=group,
        kind=resource,
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    """``configmaps "x" already exists``."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(resource, group)} "{name}" already exists',
        name=name,
        group=group,
        kind=resource,
    )


def conflict(resource: str, group: str, name: str, detail: str) -> ApiError:
    """``Operation cannot be fulfilled on …: <detail>``."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {detail}',
        name=name,
        group=group,
        kind=resource,
    )


STALE_OBJECT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(kind: str, group: str, name: str, causes: list[StatusCause]) -> ApiError:
    """422 ``Kind.group "name" is invalid: field: message`` as the apiserver words it."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{_qualified(kind, group)} "{name}" is invalid: {joined}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    """400 ``BadRequest``."""
    return ApiError(400, "BadRequest", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    """405 ``MethodNotAllowed``."""
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    """415, worded like the apiserver."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{content_type}",
    )


def gone(message: str) -> ApiError:
    """410 ``Expired``: the requested resourceVersion was compacted away."""
    return ApiError(410, "Expired", message)


def forbidden(message: str, *, name: str = "", group: str = "", kind: str = "") -> ApiError:
    """403 ``Forbidden``."""
    return ApiError(403, "Forbidden", message, name=name, group=group, kind=kind)


def unauthorized() -> ApiError:
    """401, the same body for every authentication failure."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_large(message: str) -> ApiError:
    """413 ``RequestEntityTooLarge``."""
    return ApiError(413, "RequestEntityTooLarge", message)


def internal(message: str) -> ApiError:
    """500 ``InternalError``."""
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")
