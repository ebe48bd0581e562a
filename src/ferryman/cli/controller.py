"""``ferryman controller``: run the Pipeline controller against a Kubernetes API server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import click

from ferryman.bootstrap import crashpoints, process
from ferryman.settings import Settings, interval_seconds, scopes


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
    "--lease-duration",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds a follower waits before taking an unrenewed Lease (default 15).",
)
@click.option(
    "--renew-deadline",
    type=click.FloatRange(0, 3600, min_open=True),
    default=None,
    help="Seconds the leader keeps trying to renew before it stops acting (default 10).",
)
@click.option(
    "--retry-period",
    type=click.FloatRange(0, 3600, min_open=True),
    default=None,
    help="Seconds between attempts to acquire or renew the Lease (default 2).",
)
@click.option(
    "--step-timeout",
    type=click.FloatRange(0, 3600, min_open=True),
    default=None,
    help="Seconds one irreversible step (push, pull request call, event) may take; shorter "
    "than the lease (default 5).",
)
@click.option(
    "--session-namespace",
    default=None,
    help="Namespace of the web UI's session Secret, shared by replicas (default ferryman-system).",
)
@click.option("--metrics-addr", default=None, help="[host]:port of /metrics (default :9090).")
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
@click.option(
    "--oidc-issuer-url",
    default=None,
    help='The web UI offers "Sign in with …" this OpenID Provider (the API server must accept '
    "its ID tokens: kube-apiserver's --oidc-issuer-url).",
)
@click.option("--oidc-client-id", default=None, help="The UI's client ID at the provider.")
@click.option(
    "--oidc-client-secret-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="File holding the client secret (confidential clients; or FERRYMAN_OIDC_CLIENT_SECRET).",
)
@click.option("--oidc-ca-file", default=None, help="PEM CA certificates for the provider.")
@click.option("--oidc-display-name", default=None, help='The button\'s "Sign in with <name>".')
@click.option(
    "--oidc-redirect-url",
    default=None,
    help="https://<ui>/signin/oidc/callback, exactly as registered with the provider.",
)
@click.option(
    "--oidc-scopes",
    default=None,
    callback=lambda ctx, param, value: scopes(value) if value else None,
    help='Scopes to ask for (default "openid,profile,email"; add "groups" for Dex).',
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning"]))
def controller(log_level: str, **flags: object) -> None:
    """Watch Pipelines, keep their status, and promote between environments."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    flags["namespaces"] = tuple(flags["namespaces"] or ()) or None  # type: ignore[arg-type]
    if flags.get("lease_duration") is not None:
        flags["lease_duration"] = float(flags["lease_duration"])  # type: ignore[arg-type]
    try:
        settings = Settings.from_environment(None, **flags_with_secret(flags))
        crashpoints.checkpoint(settings.crash_at)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if problem := settings.oidc_problem():
        raise click.UsageError(problem)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(process.run_controller(settings))


def flags_with_secret(flags: dict[str, object]) -> dict[str, object]:
    """``--oidc-client-secret-file`` read into the setting it stands for (a secret never rides
    on the command line, where ``ps`` shows it)."""
    chosen = dict(flags)
    path = chosen.pop("oidc_client_secret_file", None)
    if isinstance(path, str):
        try:
            chosen["oidc_client_secret"] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {path}", param_hint="--oidc-client-secret-file"
            ) from exc
    return chosen
