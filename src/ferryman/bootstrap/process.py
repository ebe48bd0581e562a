"""One controller process (``ferryman controller``), wired from real adapters.

``Controller`` owns one process's worth of parts — clients, informers, workers, leader election
and the health/metrics endpoints — and starts and stops them together. ``server_config`` is the
one place the webhook/approval/UI server's limits are set, for ``ferryman controller`` and
``ferryman up`` alike.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ferryman.adapters import clock as clock_adapter
from ferryman.adapters import (
    delivery_metrics,
    flux_receiver,
    githistory,
    githost,
    gitrepo,
    oidc,
    prometheus,
    webhooks,
)
from ferryman.adapters.kubernetes import auth as auth_adapter
from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import (
    clusters,
    events,
    jobs,
    leases,
    pipelines,
    secrets,
    sessions,
)
from ferryman.bootstrap import crashpoints, protocol
from ferryman.controller import (
    cached_store,
    checks,
    fencing,
    guarded,
    leader,
    manager,
    pipeline_cache,
    reconciler,
)
from ferryman.controller import strategies as strategy_registry
from ferryman.ports import promotion
from ferryman.server import app as server_app
from ferryman.server import auth_cache, limits, secret_cache
from ferryman.server import deps as server_deps_mod
from ferryman.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Controller:
    """A running controller process (or an embedded one in ``ferryman up`` and tests)."""

    settings: Settings
    manager: manager.Manager
    reconciler: reconciler.Reconciler
    directory: clusters.GitopsClusterDirectory
    delivery: delivery_metrics.PrometheusDeliveryRecorder  # shared by the reconciler and server
    cluster: cluster_adapter.LightkubeCluster  # the local cluster; closed with ``directory``
    http: httpx.AsyncClient | None = None
    hosts: githost.Hosts | None = None  # owns the clients made for Secrets' CA certificates
    servers: list[uvicorn.Server] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # at stop
    metrics_source: prometheus.PrometheusSource | None = None  # owns its CA clients too
    pipelines: pipeline_cache.InformerPipelines = field(init=False)  # informers, for the server

    def __post_init__(self) -> None:
        self.pipelines = pipeline_cache.InformerPipelines(self.manager)

    async def start(self) -> None:
        """Start informers, workers and leader election; return once Pipelines are cached."""
        await self.manager.start(self.reconciler.reconcile)

    async def stop(self) -> None:
        """Stop workers and informers, release the lease, close clients."""
        for server in self.servers:
            server.should_exit = True
        await self.manager.stop()
        for close in self.closers:
            await close()
        await self.directory.close()
        if self.hosts is not None:
            await self.hosts.aclose()
        if self.metrics_source is not None:
            await self.metrics_source.aclose()
        if self.http is not None:
            await self.http.aclose()


def _elector(
    settings: Settings, local: cluster_adapter.LightkubeCluster, clock: clock_adapter.SystemClock
) -> leader.LeaderElector:
    """Leader election on the Lease ``settings`` name, with its timings."""
    lease = leases.LightkubeLeaseStore(
        local.client, namespace=settings.lease_namespace, name=settings.lease_name
    )
    return leader.LeaderElector(
        lease,
        settings.identity,
        clock=clock.now,
        lease_duration=settings.lease_duration,
        renew_deadline=settings.renew_deadline,
        retry_period=settings.retry_period,
    )


def _reconciler_store(
    local: cluster_adapter.LightkubeCluster, runtime: manager.Manager
) -> cached_store.CachedPipelineStore:
    """Reads from the informer cache, writes with resourceVersion preconditions
    (``controller.cached_store``): a pass that writes nothing costs no API request."""
    return cached_store.CachedPipelineStore(
        pipelines.LightkubePipelineStore(local.client),
        functools.partial(pipeline_cache.lookup, runtime),
    )


def _strategies(
    settings: Settings,
    local: cluster_adapter.LightkubeCluster,
    http_client: httpx.AsyncClient,
    hosts: githost.Hosts,
    sink: events.LightkubeEventSink,
    guard: fencing.Guard,
) -> dict[str, promotion.PromotionStrategy]:
    """Every strategy over real adapters, each irreversible step fenced by ``guard``."""
    workspaces = gitrepo.GitRepositories(
        cache_dir=Path(settings.git_cache_dir) if settings.git_cache_dir else None
    )
    receiver = (
        guarded.GuardedReceiver(
            flux_receiver.FluxEventReceiver(http_client, settings.events_addr), guard
        )
        if settings.events_addr
        else None
    )
    return strategy_registry.build_all(
        workspaces=guarded.GuardedWorkspaces(workspaces, guard),
        hosts=guarded.GuardedHosts(hosts, guard),
        secrets=secrets.LightkubeSecretReader(local.client),
        events=guarded.GuardedEvents(sink, guard),
        receiver=receiver,
    )


def _verifier(
    http_client: httpx.AsyncClient,
    *,
    local: cluster_adapter.LightkubeCluster,
    directory: clusters.GitopsClusterDirectory,
    hosts: githost.Hosts,
) -> tuple[checks.Verifier, prometheus.PrometheusSource]:
    """The verification checks' ports: Prometheus, webhooks, Jobs and the Git hosts."""
    source = prometheus.PrometheusSource(http_client)
    ports = checks.Ports(
        secrets=secrets.LightkubeSecretReader(local.client),
        metrics=source,
        webhooks=webhooks.HttpWebhookSender(http_client),
        jobs=jobs.LightkubeJobRunner(directory),
        hosts=hosts,
    )
    return checks.Verifier(ports), source


@dataclass(frozen=True)
class _Leadership:
    """Who may act: the elector (``None`` without leader election), the fence over it, the
    crash-point checkpoint and the guard the strategies' irreversible steps pass."""

    elector: leader.LeaderElector | None
    fence: fencing.Fence
    checkpoint: reconciler.Checkpoint
    guard: fencing.Guard


def _leadership(
    settings: Settings,
    local: cluster_adapter.LightkubeCluster,
    clock: clock_adapter.SystemClock,
    checkpoint: reconciler.Checkpoint | None,
) -> _Leadership:
    elector = _elector(settings, local, clock) if settings.leader_elect else None
    fence = fencing.Fence(elector.holds) if elector is not None else fencing.UNFENCED
    checkpoint = checkpoint or crashpoints.checkpoint(settings.crash_at)
    guard = fencing.Guard(fence=fence, checkpoint=checkpoint, step_timeout=settings.step_timeout)
    return _Leadership(elector, fence, checkpoint, guard)


def build_controller(
    settings: Settings,
    *,
    kubeconfig: dict[str, object] | None = None,
    checkpoint: reconciler.Checkpoint | None = None,
    strategies: dict[str, promotion.PromotionStrategy] | None = None,
) -> Controller:
    """Wire a controller from settings (``kubeconfig`` overrides the kubeconfig lookup).

    ``checkpoint`` defaults to the one ``settings.crash_at`` asks for (``crashpoints``). With
    leader election the fence is the elector's ``holds``; the strategies get their ports wrapped
    so every irreversible step is checked against it (``controller.guarded``).
    """
    local = cluster_adapter.LightkubeCluster.connect(
        "", path=settings.kubeconfig, document=kubeconfig, context=settings.context
    )
    directory = clusters.GitopsClusterDirectory(local)
    sink = events.LightkubeEventSink(local.client, instance=settings.identity)
    clock = clock_adapter.SystemClock()
    http_client = httpx.AsyncClient(timeout=30.0)
    hosts = githost.Hosts(http_client)
    lead = _leadership(settings, local, clock, checkpoint)
    chosen = _strategies(settings, local, http_client, hosts, sink, lead.guard)
    chosen.update(strategies or {})
    verifier, source = _verifier(http_client, local=local, directory=directory, hosts=hosts)
    runtime = manager.Manager(
        clusters=directory,
        namespaces=list(settings.namespaces) or None,
        workers=settings.workers,
        elector=lead.elector,
    )
    recorder = delivery_metrics.PrometheusDeliveryRecorder(
        runtime.metrics.registry, per_pipeline=settings.metrics_pipeline_labels
    )
    rec = reconciler.Reconciler(
        store=_reconciler_store(local, runtime),
        targets=runtime.targets,
        events=sink,
        strategies=chosen,
        clock=clock,
        owner=settings.identity,
        own_writes=runtime.own_writes,  # the echoes its informers skip
        checkpoint=lead.checkpoint,
        meters=runtime.metrics,
        fence=lead.fence,
        verifier=verifier,
        delivery_metrics=recorder,
    )
    return Controller(
        settings=settings,
        manager=runtime,
        reconciler=rec,
        delivery=recorder,
        directory=directory,
        cluster=local,
        http=http_client,
        hosts=hosts,
        metrics_source=source,
    )


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
            metrics_route(controller.manager.metrics.registry),
        ]
    )


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics`` in the Prometheus text format."""

    async def metrics(request: Request) -> Response:
        del request
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics)


def metrics_app(controller: Controller) -> Starlette:
    """``/metrics`` alone, for ``--metrics-addr``."""
    return Starlette(routes=[metrics_route(controller.manager.metrics.registry)])


def _quiet_server(app: Starlette, addr: tuple[str, int]) -> uvicorn.Server:
    host, port = addr
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )


async def run_controller(settings: Settings) -> None:
    """Run a controller with its health, metrics and webhook/approval/UI servers until SIGINT or
    SIGTERM; then stop the servers, the workers and informers, and release the Lease."""
    controller = build_controller(settings)
    controller.servers += [
        _quiet_server(health_app(controller), settings.address("health")),
        _quiet_server(metrics_app(controller), settings.address("metrics")),
        build_server(settings, controller),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(signum: int, frame: object) -> None:
        del signum, frame
        loop.call_soon_threadsafe(stop.set)

    # uvicorn replaces these while it serves and raises the signal again once it has stopped;
    # ours then turns it into an orderly stop instead of the default handler killing the process
    # before the Lease is released.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    serving = [asyncio.ensure_future(server.serve()) for server in controller.servers]
    try:
        await controller.start()
        log.info(
            "Controller started identity=%s workers=%d leader_elect=%s lease=%gs renew=%gs "
            "retry=%gs step_timeout=%gs",
            settings.identity,
            settings.workers,
            settings.leader_elect,
            settings.lease_duration,
            settings.renew_deadline,
            settings.retry_period,
            settings.step_timeout,
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopping, *serving], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        controller.pipelines.close()  # ends the UI's event streams, so the servers stop at once
        for server in controller.servers:
            server.should_exit = True
        await asyncio.gather(*serving, return_exceptions=True)
        await controller.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("Controller stopped identity=%s", settings.identity)


@dataclass(frozen=True)
class QueueTrigger:
    """``ports.auth.Trigger`` over the controller's work queue (every replica has one)."""

    controller: Controller

    def enqueue(self, namespace: str, name: str) -> None:
        """Queue ``namespace/name``; the workers reconcile it (promoting only on the leader)."""
        self.controller.manager.queue.add((namespace, name))


def identity_provider(settings: Settings, controller: Controller) -> oidc.OpenIdConnect | None:
    """The UI's OpenID Provider (``--oidc-*``), with its own HTTP client trusting
    ``--oidc-ca-file`` (or the system's roots); ``None`` when no issuer is set."""
    if not settings.oidc_issuer_url or not settings.oidc_client_id:
        return None
    trust = ssl.create_default_context(cafile=settings.oidc_ca_file or None)
    http = httpx.AsyncClient(timeout=10.0, verify=trust)
    controller.closers.append(http.aclose)
    return oidc.OpenIdConnect(
        http,
        issuer=settings.oidc_issuer_url,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scopes=settings.oidc_scopes,
        display_name=settings.oidc_display_name or "",
    )


def server_deps(settings: Settings, controller: Controller) -> server_deps_mod.Deps:
    """What the webhook/approval/UI server of one replica needs, wired to real adapters.

    It shares the controller's client to its cluster (TokenReview, SubjectAccessReview, Secrets,
    status writes) and enqueues reconciles into ``controller``'s work queue. Pipelines are read
    from the controller's informers, webhook keys and review answers from bounded caches
    (``server.secret_cache``, ``server.auth_cache``), so no read-only request costs an API request
    in the steady state.
    """
    local = controller.cluster
    ui_sessions = sessions.SecretSessionStore(
        local.client, namespace=settings.session_namespace, name=settings.session_secret
    )
    keys = secret_cache.CachedSecrets(secrets.LightkubeSecretReader(local.client))
    controller.closers += [ui_sessions.close, keys.close]
    return server_deps_mod.Deps(
        store=pipelines.LightkubePipelineStore(local.client),
        cluster=local,
        secrets=keys,
        events=events.LightkubeEventSink(local.client, instance=settings.identity),
        authenticator=auth_cache.CachedAuthenticator(
            auth_adapter.LightkubeAuthenticator(local.client)
        ),
        reviewer=auth_cache.CachedAccessReviewer(
            auth_adapter.LightkubeAccessReviewer(local.client)
        ),
        trigger=QueueTrigger(controller),
        clock=clock_adapter.SystemClock(),
        sessions=ui_sessions,
        options=server_deps_mod.Options(
            enable_legacy_approval=settings.enable_legacy_approval,
            hook_rate_limit=settings.promotion_hook_rate_limit,
            hook_rate_interval=settings.promotion_hook_rate_limit_interval,
            oidc_redirect_url=settings.oidc_redirect_url or "",
        ),
        registry=controller.manager.metrics.registry,
        identity=identity_provider(settings, controller),
        commit_log=githistory.GitCommitLog(
            cache_dir=Path(settings.git_cache_dir) / "history" if settings.git_cache_dir else None
        ),
        delivery=controller.delivery,
        pipelines=controller.pipelines,
    )


def server_config(
    settings: Settings, controller: Controller, *, extra_routes: Sequence[BaseRoute] = ()
) -> uvicorn.Config:
    """The webhook/approval/UI server of one replica, on ``settings.http_addr``.

    uvicorn bounds what the app cannot: header size (llhttp's limit), idle keep-alive
    connections (5 s), in-flight connections (a backstop above the app's own 503 limit) and
    shutdown drain time (5 s). Proxy headers are ignored: nothing is keyed on client-supplied
    addresses. ``extra_routes`` are served first (``ferryman up``'s demo smoke-test service).
    """
    deps = server_deps(settings, controller)
    host, port = settings.address("http")
    site = server_app.create_site(deps)
    if extra_routes:
        site = Starlette(routes=[*extra_routes, Mount("", app=site)])
    return uvicorn.Config(
        site,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
        limit_concurrency=limits.total_concurrency(deps.options.limits) * 4,
        # httptools (C parser: ~1.5x the webhook throughput of h11) with a header read timeout
        http=protocol.HeaderTimeoutProtocol,
    )


def build_server(settings: Settings, controller: Controller) -> uvicorn.Server:
    """The server of ``server_config`` (uvicorn handles the process's signals while it serves)."""
    return uvicorn.Server(server_config(settings, controller))
