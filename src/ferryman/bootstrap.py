"""Composition root: the only module that wires adapters into the controller and the server.

``Controller`` owns one process's worth of parts — clients, informers, workers, leader election
and the health/metrics endpoints — and starts and stops them together.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import uvicorn
from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from ferryman.adapters import clock as clock_adapter
from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import clusters, events, leases, pipelines
from ferryman.controller import leader, manager, reconciler
from ferryman.controller.strategies import notification
from ferryman.ports import promotion
from ferryman.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Controller:
    """A running controller process (or an embedded one in ``ferryman up`` and tests)."""

    settings: Settings
    manager: manager.Manager
    reconciler: reconciler.Reconciler
    directory: clusters.GitopsClusterDirectory
    servers: list[uvicorn.Server] = field(default_factory=list)

    async def start(self) -> None:
        """Start informers, workers and leader election; return once Pipelines are cached."""
        await self.manager.start(self.reconciler)

    async def stop(self) -> None:
        """Stop workers and informers, release the lease, close clients."""
        for server in self.servers:
            server.should_exit = True
        await self.manager.stop()
        await self.directory.close()


def build_controller(
    settings: Settings,
    *,
    kubeconfig: dict[str, object] | None = None,
    checkpoint: reconciler.Checkpoint | None = None,
    strategies: dict[str, promotion.PromotionStrategy] | None = None,
) -> Controller:
    """Wire a controller from settings (``kubeconfig`` overrides the kubeconfig lookup)."""
    local = cluster_adapter.LightkubeCluster.connect(
        "", path=settings.kubeconfig, document=kubeconfig, context=settings.context
    )
    directory = clusters.GitopsClusterDirectory(local)
    sink = events.LightkubeEventSink(local.client, instance=settings.identity)
    clock = clock_adapter.SystemClock()
    chosen: dict[str, promotion.PromotionStrategy] = {
        "notification": notification.NotificationStrategy(sink)
    }
    chosen.update(strategies or {})
    elector = None
    if settings.leader_elect:
        elector = leader.LeaderElector(
            leases.LightkubeLeaseStore(
                local.client, namespace=settings.lease_namespace, name=settings.lease_name
            ),
            settings.identity,
            clock=clock.now,
            lease_duration=settings.lease_duration,
            renew_deadline=settings.renew_deadline,
            retry_period=settings.retry_period,
        )
    runtime = manager.Manager(
        clusters=directory,
        namespaces=list(settings.namespaces) or None,
        workers=settings.workers,
        elector=elector,
    )
    rec = reconciler.Reconciler(
        store=pipelines.LightkubePipelineStore(local.client),
        read_target=runtime.read_target,
        events=sink,
        strategies=chosen,
        clock=clock,
        owner=settings.identity,
        checkpoint=checkpoint or (lambda label: None),
    )
    return Controller(settings=settings, manager=runtime, reconciler=rec, directory=directory)


def health_app(controller: Controller) -> Starlette:
    """``/healthz``, ``/readyz`` and ``/metrics`` of one controller."""

    async def healthz(request: Request) -> PlainTextResponse:
        del request
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> PlainTextResponse:
        del request
        if controller.manager.ready.is_set():
            return PlainTextResponse("ok")
        return PlainTextResponse("informers not synced", status_code=503)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/metrics", app=make_asgi_app(controller.manager.metrics.registry)),
        ]
    )


async def run_controller(settings: Settings) -> None:
    """Run a controller until cancelled (SIGINT/SIGTERM stop it cleanly)."""
    controller = build_controller(settings)
    host, port = settings.address("health")
    server = uvicorn.Server(
        uvicorn.Config(health_app(controller), host=host, port=port, log_level="warning")
    )
    controller.servers.append(server)
    serving = asyncio.ensure_future(server.serve())
    try:
        await controller.start()
        log.info("Controller started identity=%s workers=%d", settings.identity, settings.workers)
        await serving
    finally:
        await controller.stop()
