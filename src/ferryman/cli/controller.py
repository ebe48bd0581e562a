"""``ferryman controller``: run the Pipeline controller against a Kubernetes API server."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import click

from ferryman.bootstrap import process
from ferryman.settings import Settings, interval_seconds


def _interval(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Seconds (``30``, as the original controller's flag took them) or a duration (``30s``)."""
    del ctx
    if value is None:
        return None
    try:
        return interval_seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc


@click.command()
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), default=None, help="Kubeconfig file."
)
@click.option("--context", default=None, help="Kubeconfig context.")
@click.option(
    "--namespace", "namespaces", multiple=True, help="Watch only these namespaces (repeatable)."
)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Concurrent reconciles.")
@click.option("--leader-elect", is_flag=True, default=None, help="Elect a leader via a Lease.")
@click.option("--lease-namespace", default=None, help="Namespace of the leader-election Lease.")
@click.option(
    "--session-namespace",
    default=None,
    help="Namespace of the web UI's session Secret, shared by replicas (default ferryman-system).",
)
@click.option("--metrics-addr", default=None, help="[host]:port of /metrics (default :9090).")
@click.option(
    "--metrics-pipeline-labels",
    is_flag=True,
    default=None,
    help="Label the delivery metrics by namespace and pipeline too (more series: see "
    "docs/metrics.md).",
)
@click.option(
    "--health-addr", default=None, help="[host]:port of /healthz, /readyz (default :9440)."
)
@click.option(
    "--http-addr", default=None, help="[host]:port of the webhook/API/UI (default :8080)."
)
@click.option(
    "--enable-legacy-approval",
    is_flag=True,
    default=None,
    help="Serve /approval/... (replayable HMAC over an empty body; off by default).",
)
@click.option(
    "--events-addr",
    default=None,
    help="URL of Flux notification-controller's event receiver (e.g. "
    "http://notification-controller.flux-system.svc.cluster.local./); the notification "
    "strategy posts its Promote event there, as the original controller did.",
)
@click.option(
    "--promotion-hook-rate-limit",
    type=click.IntRange(min=0),
    default=None,
    help="Flux events accepted per interval, client address and pipeline environment "
    "(default 20; 0 turns the limit off).",
)
@click.option(
    "--promotion-hook-rate-limit-interval",
    default=None,
    callback=_interval,
    help='The rate limit\'s interval: seconds ("30", the default) or a duration ("30s").',
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning"]))
def controller(log_level: str, **flags: object) -> None:
    """Watch Pipelines, keep their status, and promote between environments."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    flags["namespaces"] = tuple(flags["namespaces"] or ()) or None  # type: ignore[arg-type]
    settings = Settings.from_environment(None, **flags)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(process.run_controller(settings))
