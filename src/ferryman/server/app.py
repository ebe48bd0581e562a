"""The one Starlette app every replica serves: Flux event receiver, approval API, read API.

The app holds no state of its own: approvals go into Pipeline status (resourceVersion-checked),
events only enqueue reconciles, so any replica can answer any request while only the leader
promotes. Routing errors and every ``HttpError`` render as Kubernetes ``Status`` JSON
(``errors``); bounds on concurrency and body size wrap every route (``limits``), and the Flux
event receiver has its own request rate limit (``hook_limits``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

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


def create_app(deps: Deps) -> Starlette:
    """The server's ASGI app over ``deps``."""
    options = deps.options
    hook_metrics = metrics.HookMetrics(deps.registry) if deps.registry is not None else None
    routes: list[BaseRoute] = [
        *promotion_hook.routes(deps, hook_metrics),
        *approval_api.routes(deps),
        *operator_api.routes(deps),
        *reads.routes(deps),
    ]
    if options.enable_legacy_approval:
        routes.extend(legacy.routes(deps))
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(limits.ConcurrencyLimit, limit=options.max_concurrency),
            Middleware(
                hook_limits.HookRateLimit,
                limit=options.hook_rate_limit,
                interval=options.hook_rate_interval,
                now=lambda: deps.clock.now().timestamp(),
                throttled=hook_metrics.throttled.inc if hook_metrics is not None else lambda: None,
            ),
            Middleware(
                limits.BodyLimit,
                max_bytes=options.max_body_bytes,
                read_timeout=options.body_read_timeout,
            ),
        ],
        exception_handlers=dict(errors.HANDLERS),
    )


def create_site(deps: Deps) -> Starlette:
    """The web UI (HTML pages, cookies, CSRF) next to the JSON API on one port."""
    middleware = []
    if deps.registry is not None:
        middleware.append(Middleware(metrics.RequestMetrics, registry=deps.registry))
    return Starlette(
        routes=[*ui.ui_routes(deps), Mount("", app=create_app(deps))], middleware=middleware
    )
