"""Request metrics of the server: requests by route family and status code (DESIGN §11).

Approvals and rejections show as the ``approve``/``reject`` families with code 202; webhook
outcomes as ``promotion`` with 202, 401, 413 or 422. Paths never become label values (they carry
user input); only the fixed family names do.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def family(path: str) -> str:
    """The route family of a request path (a fixed, small set of label values)."""
    if path.startswith("/promotion/"):
        return "promotion"
    if path.startswith("/approval/"):
        return "legacy-approval"
    if path.startswith("/api/"):
        if path.endswith("/approve"):
            return "approve"
        if path.endswith("/reject"):
            return "reject"
        return "read"
    return "ui"


class HookMetrics:
    """Counters of the Flux event receiver beyond the status code."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.ignored = Counter(
            "ferryman_promotion_events_ignored_total",
            "Authentic Flux events acknowledged without a reconcile, by reason.",
            ["reason"],
            registry=registry,
        )
        self.throttled = Counter(
            "ferryman_promotion_events_throttled_total",
            "Flux event requests refused by the promotion hook rate limit (429).",
            registry=registry,
        )


class RequestMetrics:
    """ASGI middleware counting every HTTP response by family and status code."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "ferryman_http_requests_total",
            "HTTP requests by route family and status code.",
            ["route", "code"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = family(scope.get("path", ""))

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.requests.labels(route=route, code=str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting)
