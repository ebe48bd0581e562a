"""Turn a URL into Kubernetes' ``RequestInfo``: verb, group, version, resource, name, namespace.

Follows ``k8s.io/apiserver/pkg/endpoints/request``: ``/api/v1/...`` and ``/apis/{g}/{v}/...``,
``namespaces/{ns}/`` scoping (``status`` and ``finalize`` after a namespace name are that
namespace's subresources), trailing slashes ignored, and Go's boolean syntax for query flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferryman.embedded.apiserver import errors

_TRUE = frozenset(("1", "t", "T", "true", "TRUE", "True"))
_FALSE = frozenset(("0", "f", "F", "false", "FALSE", "False"))
_NAMESPACE_SUBRESOURCES = frozenset(("status", "finalize"))


def parse_bool(value: str | None, *, name: str = "") -> bool:
    """Go ``strconv.ParseBool``; an empty or absent value is false, garbage is 400."""
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.bad_request(f'invalid boolean value for query parameter "{name}": {value!r}')


@dataclass(frozen=True)
class RequestInfo:
    """The parsed request target (``is_resource_request`` False for discovery and the like)."""

    path: str
    verb: str
    is_resource_request: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


_HTTP_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


def parse(method: str, path: str, *, watch: bool) -> RequestInfo:
    """Parse ``path`` (already without trailing slash) for ``method``."""
    parts = [p for p in path.split("/") if p]
    simple_verb = _HTTP_VERBS.get(method, method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return RequestInfo(path, simple_verb)
    if parts[0] == "api":
        if len(parts) < 2:
            return RequestInfo(path, simple_verb)
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 3:
            return RequestInfo(path, simple_verb)
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return RequestInfo(path, simple_verb, group=group, version=version)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    if len(rest) > 3:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if method in ("GET", "HEAD"):
        verb = "get" if name else ("watch" if watch else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = simple_verb
    return RequestInfo(path, verb, True, group, version, resource, subresource, namespace, name)
