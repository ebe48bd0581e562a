"""Configuration, read once into a frozen ``Settings`` (nothing else reads ``os.environ``).

Precedence: command-line flags, then ``FERRYMAN_*`` environment variables, then defaults.

Leader election timings are client-go's (15 s / 10 s / 2 s) and are checked together, because
fencing (``controller.fencing``) relies on them: the renew deadline is shorter than the lease, the
retry period shorter than the renew deadline, and one irreversible step's timeout
(``step_timeout``) shorter than the lease — with the defaults, renew deadline + step timeout is
exactly the lease, so a deposed leader that is not paused has finished its last step before a
successor can hold the lease (``docs/architecture.md``, "Fencing").

``FERRYMAN_CRASH_AT`` (``<checkpoint>:<n>[:STOP]``) is a test hook: the process sends itself
SIGKILL (or SIGSTOP) at the n-th pass of that checkpoint (``bootstrap.crashpoints``).
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


def scopes(text: str) -> tuple[str, ...]:
    """OAuth scopes from ``openid,profile`` or ``openid profile``."""
    return tuple(part for part in text.replace(",", " ").split() if part)


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
    step_timeout: float = 5.0
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
    # The web UI's "Sign in with …" (OpenID Connect); off unless an issuer is set. The API server
    # must accept the same issuer and client ID (kube-apiserver's --oidc-issuer-url/-client-id).
    oidc_issuer_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)  # confidential clients
    oidc_ca_file: str | None = None  # PEM CAs for the provider (default: the system's roots)
    oidc_display_name: str | None = None  # "Sign in with <name>" (default: the issuer's host)
    oidc_redirect_url: str | None = None  # https://<ui>/signin/oidc/callback, as registered
    oidc_scopes: tuple[str, ...] = ("openid", "profile", "email")
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    crash_at: str | None = None

    def __post_init__(self) -> None:
        problems = timing_problems(
            lease_duration=self.lease_duration,
            renew_deadline=self.renew_deadline,
            retry_period=self.retry_period,
            step_timeout=self.step_timeout,
        )
        if problems:
            raise ValueError("; ".join(problems))

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
            "oidc_issuer_url",
            "oidc_client_id",
            "oidc_client_secret",
            "oidc_ca_file",
            "oidc_display_name",
            "oidc_redirect_url",
        ):
            variable = f"FERRYMAN_{name.upper()}"
            if variable in env:
                values[name] = env[variable]
        if "FERRYMAN_CRASH_AT" in env:
            values["crash_at"] = env["FERRYMAN_CRASH_AT"]
        if "FERRYMAN_WORKERS" in env:
            values["workers"] = int(env["FERRYMAN_WORKERS"])
        if "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT" in env:
            values["promotion_hook_rate_limit"] = int(env["FERRYMAN_PROMOTION_HOOK_RATE_LIMIT"])
        if "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT_INTERVAL" in env:
            values["promotion_hook_rate_limit_interval"] = interval_seconds(
                env["FERRYMAN_PROMOTION_HOOK_RATE_LIMIT_INTERVAL"]
            )
        if "FERRYMAN_OIDC_SCOPES" in env:
            values["oidc_scopes"] = scopes(env["FERRYMAN_OIDC_SCOPES"])
        if "KUBECONFIG" in env and "kubeconfig" not in values:
            values["kubeconfig"] = env["KUBECONFIG"]
        values.update({key: value for key, value in flags.items() if value is not None})
        return Settings(**values)  # type: ignore[arg-type]

    def oidc_problem(self) -> str:
        """Why the OpenID sign-in settings cannot work ("" when they can, or are unset)."""
        if not self.oidc_issuer_url and not self.oidc_client_id:
            return ""
        if not self.oidc_issuer_url or not self.oidc_client_id:
            return "--oidc-issuer-url and --oidc-client-id must be given together"
        if not self.oidc_redirect_url:
            return (
                "--oidc-redirect-url is required with --oidc-issuer-url: the UI's "
                "/signin/oidc/callback URL exactly as registered with the provider"
            )
        if "openid" not in self.oidc_scopes:
            return '--oidc-scopes must include "openid"'
        return ""

    def address(self, which: str) -> tuple[str, int]:
        """(host, port) of ``metrics``, ``health`` or ``http``."""
        defaults = {"metrics": 9090, "health": 9440, "http": 8080}
        return _split_addr(getattr(self, f"{which}_addr"), defaults[which])


def timing_problems(
    *, lease_duration: float, renew_deadline: float, retry_period: float, step_timeout: float
) -> list[str]:
    """What is wrong with a set of leader-election timings (empty when they are consistent)."""
    problems = []
    if lease_duration < 1 or lease_duration != int(lease_duration):
        problems.append(
            f"lease duration must be a whole number of seconds >= 1 (the Lease stores "
            f"leaseDurationSeconds), got {lease_duration:g}"
        )
    if not 0 < renew_deadline < lease_duration:
        problems.append(
            f"renew deadline ({renew_deadline:g}s) must be shorter than the lease "
            f"({lease_duration:g}s)"
        )
    if not 0 < retry_period < renew_deadline:
        problems.append(
            f"retry period ({retry_period:g}s) must be shorter than the renew deadline "
            f"({renew_deadline:g}s)"
        )
    if not 0 < step_timeout < lease_duration:
        problems.append(
            f"step timeout ({step_timeout:g}s) must be shorter than the lease ({lease_duration:g}s)"
        )
    return problems
