"""What the server needs from outside (ports only) and its tunable bounds, in two frozen values.

``bootstrap.process.server_deps`` fills ``Deps`` with the lightkube adapters; tests fill it with
the fakes of ``tests/fakes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from ferryman.ports import auth, promotion
from ferryman.ports import clock as clock_port
from ferryman.ports import delivery as delivery_port
from ferryman.ports import history as history_port
from ferryman.ports import identity as identity_port
from ferryman.ports import kubernetes as k8s
from ferryman.ports import sessions as sessions_port
from ferryman.server import hook_limits
from ferryman.server import limits as limits_mod


@dataclass(frozen=True)
class Options:
    """Switches and bounds of the HTTP server."""

    enable_legacy_approval: bool = False  # serve /approval/... (replayable; off by default)
    # Per route family (``families``): concurrency pool, body size and whole-body deadline.
    limits: Mapping[str, limits_mod.RouteLimits] = field(
        default_factory=lambda: dict(limits_mod.DEFAULT_LIMITS)
    )
    max_write_attempts: int = 5  # status writes retried on 409 before giving up
    hook_rate_limit: int = hook_limits.DEFAULT_LIMIT  # per client and pipeline env; 0: off
    hook_rate_interval: float = hook_limits.DEFAULT_INTERVAL  # seconds
    # Where the OpenID Provider sends the browser back, exactly as registered there.
    oidc_redirect_url: str = ""


@dataclass(frozen=True)
class Deps:
    """The ports the handlers use."""

    store: k8s.PipelineStore  # read a Pipeline, write its status (resourceVersion-checked)
    cluster: k8s.Cluster  # list Pipelines (the controller's own cluster)
    secrets: promotion.SecretReader  # HMAC keys
    events: k8s.EventSink  # "Approved by alice: ..."
    authenticator: auth.Authenticator  # TokenReview
    reviewer: auth.AccessReviewer  # SubjectAccessReview
    trigger: auth.Trigger  # ask the controller to reconcile a pipeline
    clock: clock_port.Clock
    sessions: sessions_port.SessionStore  # UI sessions: sealing key, sign-outs (all replicas)
    options: Options = field(default_factory=Options)
    registry: CollectorRegistry | None = None  # where request metrics go (None: not counted)
    identity: identity_port.OpenIdProvider | None = None  # "Sign in with …" (None: tokens only)
    commit_log: history_port.CommitLog | None = None  # promotion trails in Git (None: not shown)
    # What approvals, rejections and operator actions measured (None: not recorded).
    delivery: delivery_port.DeliveryRecorder | None = None
    # The controller's Pipeline informers: the webhook, the UI and the read API read from them
    # (no API request per HTTP request) and the UI's live pages are woken by them. None (tests
    # over fakes): every read goes to ``store``.
    pipelines: k8s.PipelineCache | None = None

    @property
    def reader(self) -> k8s.PipelineReader:
        """Where Pipelines are read when nothing is written from the read: the cache if any."""
        return self.pipelines if self.pipelines is not None else self.store
