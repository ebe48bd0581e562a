"""``GET /metrics``: ``apiserver_request_total`` with the labels kube-apiserver gives it.

Benchmarks and tests count the API requests a client makes by reading this counter before and
after (``component="apiserver"``; ``verb`` upper case as kube-apiserver reports it: ``GET`` of one
object, ``LIST``, ``WATCH``, ``POST``, ``PUT``, ``PATCH``, ``APPLY`` for a server-side apply patch,
``DELETE``, ``DELETECOLLECTION``, and the HTTP method of a non-resource request; ``scope`` as
kube-apiserver's ``CleanScope``: ``resource`` for one named object or a create, ``namespace``,
``cluster``, or empty for non-resource requests; ``code`` the HTTP status). Requests refused
before their target could be parsed are counted with empty resource labels.

Paths never become label values, only the parsed group/version/resource/subresource, whose
values are bounded by what the server serves plus what clients ask for; the registry is per
server instance (no module state).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from ferryman.embedded.apiserver import patches
from ferryman.embedded.apiserver.routing import RequestInfo

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
LABELS: Final = (
    "verb",
    "group",
    "version",
    "resource",
    "subresource",
    "scope",
    "component",
    "code",
)
_REPORTED: Final = {
    "get": "GET",
    "list": "LIST",
    "watch": "WATCH",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETECOLLECTION",
}


def reported_verb(info: RequestInfo | None, method: str, content_type: str) -> str:
    """The ``verb`` label kube-apiserver writes for this request (``CleanVerb``)."""
    if info is None or not info.is_resource_request or not info.resource:
        return method.upper()
    if info.verb == "patch" and content_type.split(";")[0].strip().lower() == patches.APPLY:
        return "APPLY"
    return _REPORTED.get(info.verb, info.verb.upper())


def scope(info: RequestInfo | None) -> str:
    """kube-apiserver's ``CleanScope``: resource, namespace, cluster or empty."""
    if info is None:
        return ""
    if info.name or info.verb == "create":
        return "resource"
    if info.namespace:
        return "namespace"
    if info.is_resource_request and info.resource:
        return "cluster"
    return ""


class RequestMetrics:
    """The counter and its text exposition, for one server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out for each verb, dry run value, group, "
            "version, resource, scope, component, and HTTP response code.",
            LABELS,
            registry=self.registry,
        )

    def count(self, info: RequestInfo | None, *, method: str, content_type: str, code: int) -> None:
        """Count one answered request."""
        target = ("", "", "", "")
        if info is not None and info.is_resource_request and info.resource:
            target = (info.group, info.version, info.resource, info.subresource)
        verb = reported_verb(info, method, content_type)
        self.requests.labels(verb, *target, scope(info), "apiserver", str(code)).inc()

    def render(self) -> bytes:
        """The Prometheus text format of every counter."""
        return generate_latest(self.registry)
