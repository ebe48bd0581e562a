"""The one Starlette app every replica serves: Flux event receiver, approval API, read API.

The app holds no state of its own: approvals go into Pipeline status (resourceVersion-checked),
events only enqueue reconciles, so any replica can answer any request while only the leader
promotes. Routing errors and every ``HttpError`` render as Kubernetes ``Status`` JSON
(``errors``); per-family pools, body caps and body deadlines wrap every route (``limits``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ferryman.server import approval_api, errors, legacy, limits, metrics, promotion_hook, reads
from ferryman.server.deps import Deps
from ferryman.server.ui import routes as ui


def _api_routes(deps: Deps) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        *promotion_hook.routes(deps),
        *approval_api.routes(deps),
        *reads.routes(deps),
    ]
    if deps.options.enable_legacy_approval:
        routes.extend(legacy.routes(deps))
    return routes


def create_app(deps: Deps) -> Starlette:
    """The JSON API alone (webhook, approval and read API) with its limits, over ``deps``."""
    return Starlette(
        routes=_api_routes(deps),
        middleware=[Middleware(limits.Limits, limits=deps.options.limits)],
        exception_handlers=dict(errors.HANDLERS),
    )


async def healthz(request: Request) -> Response:
    """Liveness of the HTTP server itself (its own pool: webhook floods cannot starve it)."""
    del request
    return PlainTextResponse("ok")


def create_site(deps: Deps) -> Starlette:
    """The web UI (HTML pages, cookies, CSRF) next to the JSON API on one port; one set of
    per-family limits wraps both, so every route has a pool, a body cap and a body deadline."""
    middleware = []
    if deps.registry is not None:
        middleware.append(Middleware(metrics.RequestMetrics, registry=deps.registry))
    middleware.append(Middleware(limits.Limits, limits=deps.options.limits))
    api = Starlette(routes=_api_routes(deps), exception_handlers=dict(errors.HANDLERS))
    return Starlette(
        routes=[Route("/healthz", healthz), *ui.ui_routes(deps), Mount("", app=api)],
        middleware=middleware,
        exception_handlers=dict(errors.HANDLERS),
    )
