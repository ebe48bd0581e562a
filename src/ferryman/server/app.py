"""The one Starlette app every replica serves: Flux event receiver, approval API, read API.

The app holds no state of its own: approvals go into Pipeline status (resourceVersion-checked),
events only enqueue reconciles, so any replica can answer any request while only the leader
promotes. Routing errors and every ``HttpError`` render as Kubernetes ``Status`` JSON
(``errors``); per-family pools, body caps and body deadlines wrap every route (``limits``), and
the Flux event receiver has its own request rate limit (``hook_limits``), checked first so a
throttled request never takes a pool slot.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ferryman.server import (
    approval_api,
    errors,
    hook_limits,
    legacy,
    limits,
    metrics,
    operator_api,
    promotion_hook,
    reads,
)
from ferryman.server.deps import Deps
from ferryman.server.ui import routes as ui


def _hook_metrics(deps: Deps) -> metrics.HookMetrics | None:
    return metrics.HookMetrics(deps.registry) if deps.registry is not None else None


def _api_routes(deps: Deps, hook_metrics: metrics.HookMetrics | None) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        *promotion_hook.routes(deps, hook_metrics),
        *approval_api.routes(deps),
        *operator_api.routes(deps),
        *reads.routes(deps),
    ]
    if deps.options.enable_legacy_approval:
        routes.extend(legacy.routes(deps))
    return routes


def _limits(deps: Deps, hook_metrics: metrics.HookMetrics | None) -> list[Middleware]:
    """The promotion hook's rate limit, then the per-family pools, body caps and deadlines."""
    options = deps.options
    throttled = hook_metrics.throttled.inc if hook_metrics is not None else lambda: None
    return [
        Middleware(
            hook_limits.HookRateLimit,
            limit=options.hook_rate_limit,
            interval=options.hook_rate_interval,
            now=lambda: deps.clock.now().timestamp(),
            throttled=throttled,
        ),
        Middleware(limits.Limits, limits=options.limits),
    ]


def create_app(deps: Deps) -> Starlette:
    """The JSON API alone (webhook, approval, operator and read API) with its limits."""
    hook_metrics = _hook_metrics(deps)
    return Starlette(
        routes=_api_routes(deps, hook_metrics),
        middleware=_limits(deps, hook_metrics),
        exception_handlers=dict(errors.HANDLERS),
    )


async def healthz(request: Request) -> Response:
    """Liveness of the HTTP server itself (its own pool: webhook floods cannot starve it)."""
    del request
    return PlainTextResponse("ok")


def create_site(deps: Deps) -> Starlette:
    """The web UI (HTML pages, cookies, CSRF) next to the JSON API on one port; one set of
    per-family limits wraps both, so every route has a pool, a body cap and a body deadline."""
    hook_metrics = _hook_metrics(deps)
    middleware = []
    if deps.registry is not None:
        middleware.append(Middleware(metrics.RequestMetrics, registry=deps.registry))
    middleware += _limits(deps, hook_metrics)
    api = Starlette(
        routes=_api_routes(deps, hook_metrics), exception_handlers=dict(errors.HANDLERS)
    )
    return Starlette(
        routes=[Route("/healthz", healthz), *ui.ui_routes(deps), Mount("", app=api)],
        middleware=middleware,
        exception_handlers=dict(errors.HANDLERS),
    )
