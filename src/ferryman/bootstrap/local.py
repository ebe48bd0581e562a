"""``ferryman up``: the whole system in one process, on one laptop, with no cluster.

Composed here, in the composition root, from the embedded stand-ins for outside systems
(``embedded.apiserver`` for a cluster, ``embedded.flux`` for Flux, ``embedded.demo`` for a
team's repository and Pipeline) and the same controller and server ``ferryman controller`` runs
(``process``), with the same server limits.

Parts, started in this order and stopped in reverse:

0. for the demo, a demo OpenID Provider (``embedded.openid``) on its own free port, addressed as
   ``http://localhost:<port>`` (another site than the UI's ``http://127.0.0.1``, as a real
   provider is), which the API server trusts (``--oidc-*``: ``preferred_username`` and
   ``groups``, no prefixes, so alice signed in either way is the same alice) and the UI offers;
1. the embedded Kubernetes-compatible API server (state in ``<dir>/``: SQLite, admin token, TLS
   certificate; ``<dir>/kubeconfig`` for ``kubectl``) in its own thread;
2. the demo (unless ``demo=False``): its Git repository, users, RBAC, the smoke-test Secret and
   the Pipeline, each created only when missing, so a restart resumes where the last run stopped;
3. the controller (informers, reconciler, the ``git-push`` and ``notification`` strategies);
4. the HTTP server: web UI, approval API, read API and Flux webhook on one port (its UI sessions
   in a Secret of namespace ``ferryman-system``, created here, as on a cluster), and for the demo
   its smoke-test service (``embedded.smoke``), which staging's ``webhook`` check calls;
5. the local Flux applier (``embedded.flux``) for the demo repository — or, with
   ``app_kind="argocd"``, the local Argo CD (``embedded.argocd``) and Applications in Git;
6. ``/metrics`` (and ``/healthz``, ``/readyz``) on a port of its own, as ``ferryman controller``
   serves them.

State lives only in the API server's database and the Git repository, both on disk; every
promotion is crash-safe (DESIGN §4), so stopping at any point and running again neither loses an
approval nor pushes a commit twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, TextIO

import uvicorn

from ferryman.bootstrap import process
from ferryman.embedded import argocd, demo, flux, openid, smoke
from ferryman.embedded.apiserver import kubeconfig as kubeconfig_writer
from ferryman.embedded.apiserver import oidc as api_oidc
from ferryman.embedded.apiserver import private
from ferryman.embedded.apiserver import server as api_server
from ferryman.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_FAILING: Final = ("6.6.6",)
SYSTEM_NAMESPACE: Final = Settings().session_namespace  # ferryman-system, as on a cluster
DEFAULT_FAILING_CHECKS: Final = ("6.6.7",)


@dataclasses.dataclass(frozen=True)
class UpConfig:
    """What ``ferryman up`` runs; the defaults are the demo the issue describes."""

    state_dir: Path = Path(".ferryman")
    api_port: int = 0  # 0: a free port (the kubeconfig is rewritten with it on every start)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    demo: bool = True
    soak_seconds: int = 10  # staging must stay ready this long before prod may be promoted
    flux_interval: float = 1.0  # seconds between polls of the demo repository
    flux_delay: float = 3.0  # seconds from applying a change to reporting it ready
    failing: tuple[str, ...] = DEFAULT_FAILING  # chart versions whose deployment fails
    failing_checks: tuple[str, ...] = DEFAULT_FAILING_CHECKS  # versions the smoke tests fail
    crd_dir: Path | None = None  # install these CRDs (e.g. Flux's) instead of the compact one
    workers: int = 2
    app_kind: str = "flux"  # what deploys the demo: "flux" (HelmReleases) or "argocd"
    metrics_port: int = 0  # /metrics, /healthz, /readyz (0: a free port, named in the banner)
    hook_rate_limit: int = 20  # Flux events per 30 s, client and pipeline environment; 0: off


@dataclasses.dataclass
class Running:
    """The parts of a running ``ferryman up`` (for the banner and for tests)."""

    api: api_server.EmbeddedApiServer
    ui_url: str
    users: list[demo.DemoUser]
    kubeconfigs: dict[str, Path]
    openid_url: str = ""  # the demo OpenID Provider's issuer ("" without the demo)
    metrics_url: str = ""
    app_kind: str = "flux"


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``ferryman up`` stops every part itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def write_user_kubeconfigs(
    api: api_server.EmbeddedApiServer, users: list[demo.DemoUser]
) -> dict[str, Path]:
    """``<dir>/kubeconfig-<user>`` per demo user, so ``kubectl``/``ferryman`` can act as them."""
    ca = api.cert_path.read_bytes() if api.cert_path is not None else None
    found: dict[str, Path] = {}
    for user in users:
        path = Path(api.config.data_dir) / f"kubeconfig-{user.name}"
        found[user.name] = kubeconfig_writer.write(path, api.url, user.token, ca_pem=ca)
    return found


def banner(running: Running, state_dir: Path) -> str:
    """What to look at and what to try, printed once everything runs."""
    kubeconfig = state_dir / "kubeconfig"
    lines = [
        "",
        "Ferryman is up.",
        f"  Web UI:          {running.ui_url}/",
        f"  Kubernetes API:  {running.api.url}  (kubeconfig: {kubeconfig})",
    ]
    if running.metrics_url:
        lines.append(f"  Metrics:         {running.metrics_url}")
    apps = "applications" if running.app_kind == "argocd" else "helmreleases"
    lines += [
        "",
        "Try:",
        f"  kubectl --kubeconfig {kubeconfig} get pipelines -A",
        f"  kubectl --kubeconfig {kubeconfig} get {apps} -A",
        f"  ferryman demo release 6.2.0 --dir {state_dir}",
        f"  ferryman demo release 6.6.7 --dir {state_dir}   (staging's smoke check fails it)",
        f"  ferryman --kubeconfig {kubeconfig} get pipelines -A",
    ]
    if "alice" in running.kubeconfigs:
        lines.append(
            f"  ferryman approve podinfo --env prod --kubeconfig {running.kubeconfigs['alice']}"
            f" --server {running.ui_url}"
        )
    lines += [
        "",
        "approve/reject take the server from --server (or FERRYMAN_SERVER), never from a file",
        f"in the current directory:  export FERRYMAN_SERVER={running.ui_url}",
    ]
    if running.openid_url:
        lines += [
            "",
            f"Sign in to the web UI with the demo OpenID Provider ({running.openid_url}): "
            '"Sign in with the Ferryman demo", then choose alice (may approve) or bob (may look).',
        ]
    if running.users:
        lines += ["", "Or sign in to the web UI with one of these tokens:"]
        for user in running.users:
            lines.append(f"  {user.name:<6} ({', '.join(user.groups)}): {user.token}")
    lines += ["", "Press Ctrl-C to stop; run the same command again to resume.", ""]
    return "\n".join(lines)


async def _start_api(
    config: UpConfig, issuer: str = ""
) -> tuple[api_server.EmbeddedApiServer, list[demo.DemoUser]]:
    """The embedded API server (and, for the demo, its repository and users' tokens), trusting
    the demo OpenID Provider's ID tokens when ``issuer`` names it."""
    state_dir = private.directory(config.state_dir)  # 0700 before anything is written into it
    users: list[demo.DemoUser] = []
    token_file = None
    if config.demo:
        await asyncio.to_thread(demo.create_repository, state_dir, config.app_kind)
        users = demo.users(state_dir)
        token_file = demo.token_file(state_dir)
    trusted = None
    if issuer:
        trusted = api_oidc.Options(
            issuer_url=issuer,
            client_id=openid.CLIENT_ID,
            username_claim="preferred_username",
            username_prefix="-",
            groups_claim="groups",
        )
    api = api_server.EmbeddedApiServer(
        api_server.ServerConfig(
            data_dir=state_dir, port=config.api_port, token_file=token_file, oidc=trusted
        )
    )
    await asyncio.to_thread(api.start)
    return api, users


async def _install(config: UpConfig, client: flux.KubeClient) -> None:
    """CRDs, and for the demo its users' RBAC, Secrets and Pipeline, each only when missing."""
    if config.demo:
        created = await asyncio.to_thread(
            demo.install,
            client,
            config.state_dir,
            soak_seconds=config.soak_seconds,
            crd_dir=config.crd_dir,
            smoke=demo.smoke_url(config.http_port),
            kind=config.app_kind,
        )
    else:
        found = demo.crds(config.crd_dir, config.app_kind)
        created = await asyncio.to_thread(demo.create_missing, client, found)
    # Where the UI's session Secret lives (the server creates the Secret itself on first use).
    system = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
    created += await asyncio.to_thread(demo.create_missing, client, [system])
    for name in created:
        log.info("Created %s", name)


async def _serve(
    server: uvicorn.Server,
    port: int,
    stack: contextlib.AsyncExitStack,
    *,
    sockets: list[socket.socket] | None = None,
    before_stop: Callable[[], None] | None = None,
) -> int:
    """Start ``server`` (on ``sockets`` when bound already), stopped with ``stack``; the port it
    listens on."""
    serving = asyncio.ensure_future(server.serve(sockets=sockets))
    while not server.started:
        if serving.done():
            serving.result()  # raises the bind error
            raise OSError(f"the HTTP server on port {port} stopped at start")
        await asyncio.sleep(0.02)

    async def stop() -> None:
        if before_stop is not None:
            before_stop()
        server.should_exit = True
        await serving

    stack.push_async_callback(stop)
    bound: int = server.servers[0].sockets[0].getsockname()[1]
    return bound


async def _serve_metrics(
    config: UpConfig, controller: process.Controller, stack: contextlib.AsyncExitStack
) -> str:
    """``/metrics``, ``/healthz`` and ``/readyz`` of the controller; the metrics URL."""
    app = process.health_app(controller)
    server = _QuietServer(
        uvicorn.Config(
            app,
            host=config.http_host,
            port=config.metrics_port,
            log_level="warning",
            access_log=False,
        )
    )
    port = await _serve(server, config.metrics_port, stack)
    return f"http://{config.http_host}:{port}/metrics"


async def _serve_http(
    config: UpConfig,
    settings: Settings,
    controller: process.Controller,
    stack: contextlib.AsyncExitStack,
    sock: socket.socket,
) -> str:
    """Serve the UI, approval API and webhook with ``process.server_config`` on ``sock`` (bound
    early, so the UI's address is known to the OpenID Provider), and the demo's smoke-test
    service; its base URL."""
    extra = []
    if config.demo:
        extra.append(smoke.route(smoke.key(config.state_dir), config.failing_checks))
    http = _QuietServer(process.server_config(settings, controller, extra_routes=extra))
    # Closing the informers' listeners ends the UI's event streams, so the server stops at once.
    port = await _serve(
        http, config.http_port, stack, sockets=[sock], before_stop=controller.pipelines.close
    )
    return f"http://{config.http_host}:{port}"


def _stand_in(config: UpConfig, client: flux.KubeClient) -> flux.LocalFlux | argocd.LocalArgoCD:
    """The local Flux, or the local Argo CD, for the demo repository."""
    if config.app_kind == "argocd":
        return argocd.LocalArgoCD(
            argocd.ArgoConfig(
                repository=demo.repository_path(config.state_dir),
                paths=flux.environment_paths(demo.ENVIRONMENTS),
                interval=config.flux_interval,
                ready_delay=config.flux_delay,
                failing=frozenset(config.failing),
            ),
            client,
        )
    return flux.LocalFlux(
        flux.FluxConfig(
            repository=demo.repository_path(config.state_dir),
            paths=flux.environment_paths(demo.ENVIRONMENTS),
            interval=config.flux_interval,
            ready_delay=config.flux_delay,
            failing=frozenset(config.failing),
        ),
        client,
    )


def _start_flux(
    config: UpConfig, client: flux.KubeClient, stack: contextlib.AsyncExitStack
) -> None:
    """The local Flux (or Argo CD) for the demo repository, stopped with ``stack``."""
    flux_task = asyncio.ensure_future(_stand_in(config, client).run())

    async def stop_flux() -> None:
        flux_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flux_task

    stack.push_async_callback(stop_flux)


def _bind_http(config: UpConfig) -> tuple[socket.socket, str]:
    """The UI's socket, bound before anything starts (``http_port=0``: a free port)."""
    sock = openid.listen(config.http_host, config.http_port)
    return sock, f"http://{config.http_host}:{sock.getsockname()[1]}"


async def _start_openid(config: UpConfig, ui_url: str, stack: contextlib.AsyncExitStack) -> str:
    """The demo OpenID Provider (its key in the state directory); its issuer URL."""
    sock = openid.listen("127.0.0.1", 0)
    issuer = f"http://localhost:{sock.getsockname()[1]}"
    provider = openid.OpenIdProvider(
        openid.ProviderConfig(
            issuer=issuer,
            redirect_uris=(f"{ui_url}/signin/oidc/callback",),
            users=tuple(openid.DemoUser(name, tuple(groups)) for name, groups in demo.USERS),
            key_path=private.directory(config.state_dir) / openid.KEY_FILE,
        )
    )
    await stack.enter_async_context(openid.serving(provider, sock))
    return issuer


def _settings(
    config: UpConfig, api: api_server.EmbeddedApiServer, ui_url: str, issuer: str
) -> Settings:
    """The controller's and UI's settings; the UI offers the demo OpenID Provider."""
    return Settings(
        kubeconfig=str(api.kubeconfig_path),
        workers=config.workers,
        http_addr=f"{config.http_host}:{config.http_port}",
        git_cache_dir=str(config.state_dir / "git-cache"),
        oidc_issuer_url=issuer or None,
        oidc_client_id=openid.CLIENT_ID if issuer else None,
        oidc_display_name="the Ferryman demo" if issuer else None,
        oidc_redirect_url=f"{ui_url}/signin/oidc/callback" if issuer else None,
        oidc_scopes=("openid", "profile", "groups"),
        promotion_hook_rate_limit=config.hook_rate_limit,
    )


async def run(
    config: UpConfig,
    *,
    out: TextIO,
    stop: asyncio.Event,
    on_ready: Callable[[Running], None] | None = None,
) -> None:
    """Run everything until ``stop`` is set, then stop it all (see the module docstring)."""
    http_sock, ui_url = _bind_http(config)
    stack = contextlib.AsyncExitStack()
    stack.callback(http_sock.close)
    async with stack:
        issuer = await _start_openid(config, ui_url, stack) if config.demo else ""
        api, users = await _start_api(config, issuer)
        stack.callback(api.stop)
        client = flux.KubeClient(api.kubeconfig_path)
        await _install(config, client)
        settings = _settings(config, api, ui_url, issuer)
        controller = process.build_controller(settings)
        await controller.start()
        stack.push_async_callback(controller.stop)
        ui_url = await _serve_http(config, settings, controller, stack, http_sock)
        if config.demo:  # the smoke check calls the port actually bound
            port = int(ui_url.rsplit(":", 1)[1])
            await asyncio.to_thread(demo.point_smoke_check, client, demo.smoke_url(port))
        metrics_url = await _serve_metrics(config, controller, stack)
        kubeconfigs = write_user_kubeconfigs(api, users)
        if config.demo:
            _start_flux(config, client, stack)
        running = Running(
            api=api,
            ui_url=ui_url,
            users=users,
            kubeconfigs=kubeconfigs,
            openid_url=issuer,
            metrics_url=metrics_url,
            app_kind=config.app_kind,
        )
        out.write(banner(running, config.state_dir))
        out.flush()
        if on_ready is not None:
            on_ready(running)
        await stop.wait()
        out.write("Stopping...\n")
        out.flush()


def main(config: UpConfig, *, out: TextIO) -> None:
    """Run until SIGINT/SIGTERM; both stop every part cleanly."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(config, out=out, stop=stop)

    asyncio.run(serve())
