"""Configuration, read once into a frozen ``Settings`` (nothing else reads ``os.environ``).

Precedence: command-line flags, then ``FERRYMAN_*`` environment variables, then defaults.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from ferryman.api import durations


def interval_seconds(text: str) -> float:
    """``30`` (seconds, the original controller's flag) or a Go duration (``30s``, ``1m``).

    ``ValueError`` with a sentence naming the value when it is neither.
    """
    value = text.strip()
    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else None
        if seconds is None:
            seconds = durations.parse(value).total_seconds()
    except ValueError as exc:
        raise ValueError(
            f'"{text}" is not an interval: give seconds ("30") or a duration ("30s", "1m")'
        ) from exc
    if seconds <= 0:
        raise ValueError(f'"{text}" is not an interval: it must be longer than zero')
    return seconds


def _split_addr(addr: str, default_port: int) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return (host or "0.0.0.0", int(port) if port else default_port)  # noqa: S104 - a server address


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build a controller process."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    workers: int = 4
    leader_elect: bool = False
    lease_namespace: str = "ferryman-system"
    lease_name: str = "ferryman-controller"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    metrics_addr: str = ":9090"
    health_addr: str = ":9440"
    http_addr: str = ":8080"
    enable_legacy_approval: bool = False
    # Flux notification-controller's event receiver, where the notification strategy posts
    # (the original's --events-addr); None: only a Kubernetes Event is recorded.
    events_addr: str | None = None
    promotion_hook_rate_limit: int = 20  # requests per interval, client and pipeline env; 0: off
    promotion_hook_rate_limit_interval: float = 30.0  # seconds
    # The Secret holding the web UI's session key and sign-outs, shared by every replica.
    session_namespace: str = "ferryman-system"
    session_secret: str = "ferryman-ui-sessions"  # noqa: S105 - a Secret's name, not a secret
    git_cache_dir: str | None = None
    # Label the delivery metrics also by namespace and pipeline (series grow with pipelines:
    # docs/metrics.md); off by default.
    metrics_pipeline_labels: bool = False
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")

    @staticmethod
    def from_environment(environ: Mapping[str, str] | None = None, **flags: object) -> Settings:
        """Settings from flags given explicitly (not ``None``) over ``FERRYMAN_*`` variables."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in (
            "kubeconfig",
            "context",
            "lease_namespace",
            "lease_name",
            "metrics_addr",
            "health_addr",
            "http_addr",
            "events_addr",
            "session_namespace",
            "session_secret",
        ):
            variable = f"FERRYMAN_{name.upper()}"
            if variable in env:
                values[name] = env[variable]
        if "FERRYMAN_WORKERS" in env:
            values["workers"] = int(env["FERRYMAN_WORKERS"])
        if "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT" in env:
            values["promotion_hook_rate_limit"] = int(env["FERRYMAN_PROMOTION_HOOK_RATE_LIMIT"])
        if "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT_INTERVAL" in env:
            values["promotion_hook_rate_limit_interval"] = interval_seconds(
                env["FERRYMAN_PROMOTION_HOOK_RATE_LIMIT_INTERVAL"]
            )
        if env.get("FERRYMAN_METRICS_PIPELINE_LABELS", "").lower() in ("1", "true"):
            values["metrics_pipeline_labels"] = True
        if "KUBECONFIG" in env and "kubeconfig" not in values:
            values["kubeconfig"] = env["KUBECONFIG"]
        values.update({key: value for key, value in flags.items() if value is not None})
        return Settings(**values)  # type: ignore[arg-type]

    def address(self, which: str) -> tuple[str, int]:
        """(host, port) of ``metrics``, ``health`` or ``http``."""
        defaults = {"metrics": 9090, "health": 9440, "http": 8080}
        return _split_addr(getattr(self, f"{which}_addr"), defaults[which])
