"""``ferryman up``: run the embedded API server, controller, web UI, local Flux (or Argo CD) and
the demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "--dir",
    "state_dir",
    default=".ferryman",
    show_default=True,
    type=click.Path(file_okay=False),
    help="State directory (kept across restarts).",
)
@click.option("--api-port", default=0, show_default=True, type=int, help="0 picks a free port.")
@click.option("--http-port", default=8080, show_default=True, type=int, help="Web UI and API port.")
@click.option(
    "--metrics-port", default=0, show_default=True, type=int, help="/metrics; 0 picks a free port."
)
@click.option("--no-demo", is_flag=True, help="Start without the demo repository and pipeline.")
@click.option(
    "--app-kind",
    default="flux",
    show_default=True,
    type=click.Choice(["flux", "argocd"]),
    help="Demo: deploy with a local Flux (HelmReleases) or a local Argo CD (Applications).",
)
@click.option(
    "--soak-seconds",
    default=10,
    show_default=True,
    type=click.IntRange(0, 3600),
    help="Demo: how long staging must stay ready before prod may be promoted.",
)
@click.option(
    "--flux-delay",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Demo: seconds the local Flux takes to report a change ready.",
)
@click.option(
    "--flux-interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 600),
    help="Demo: seconds between polls of the demo repository.",
)
@click.option(
    "--failing-revision",
    "failing",
    multiple=True,
    help="Demo: a chart version whose deployment fails (repeatable; default 6.6.6).",
)
@click.option(
    "--failing-check",
    "failing_checks",
    multiple=True,
    help="Demo: a chart version staging's smoke check fails (repeatable; default 6.6.7).",
)
@click.option(
    "--crds",
    "crd_dir",
    default=None,
    type=click.Path(file_okay=False, exists=True),
    help="Install the CRDs in this directory (e.g. Flux's own) instead of a compact one.",
)
@click.option(
    "--promotion-hook-rate-limit",
    "hook_rate_limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="Flux events accepted per 30 s, client address and pipeline environment (0: no limit).",
)
@click.option("--log-level", default="warning", type=click.Choice(["debug", "info", "warning"]))
def up(
    state_dir: str,
    api_port: int,
    http_port: int,
    metrics_port: int,
    no_demo: bool,
    app_kind: str,
    soak_seconds: int,
    flux_delay: float,
    flux_interval: float,
    failing: tuple[str, ...],
    failing_checks: tuple[str, ...],
    crd_dir: str | None,
    hook_rate_limit: int,
    log_level: str,
) -> None:
    """Run Ferryman on this machine, no cluster needed (Ctrl-C stops; run again to resume)."""
    from ferryman.bootstrap import local as up_mode  # heavy imports only for this command
    from ferryman.embedded import demo, flux

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for chatty in ("httpx", "httpx2"):  # one line per request drowns the banner at info
        logging.getLogger(chatty).setLevel(logging.WARNING)
    config = up_mode.UpConfig(
        state_dir=Path(state_dir),
        api_port=api_port,
        http_port=http_port,
        demo=not no_demo,
        soak_seconds=soak_seconds,
        flux_delay=flux_delay,
        flux_interval=flux_interval,
        failing=failing or up_mode.DEFAULT_FAILING,
        failing_checks=failing_checks or up_mode.DEFAULT_FAILING_CHECKS,
        crd_dir=Path(crd_dir) if crd_dir else None,
        app_kind=app_kind,
        metrics_port=metrics_port,
        hook_rate_limit=hook_rate_limit,
    )
    try:
        up_mode.main(config, out=sys.stdout)
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc.strerror or exc}") from exc
    except (demo.DemoError, flux.FluxError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
