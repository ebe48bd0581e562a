"""The strategy port: carry out one promotion, idempotently.

A strategy is called after the controller wrote the ``Promoting`` intent. It may be called again
for the same request (a crash after the side effect, a new leader, a retry), so it must find what
an earlier attempt made instead of making it twice: deterministic branch names, pull requests
adopted by head and base, a push whose change is already on the branch is a no-op, events keyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ferryman.api import pipeline, status
from ferryman.domain import revisions


@dataclass(frozen=True)
class PromotionRequest:
    """Everything a strategy needs to promote ``revision`` into ``environment``."""

    namespace: str
    pipeline_name: str
    pipeline_uid: str
    environment: str
    source_environment: str
    revision: str
    app: pipeline.AppRef
    strategy: pipeline.Strategy
    approvals: tuple[status.ApprovalRecord, ...] = ()
    attempt: int = 1
    requested_at: datetime | None = None  # the record's: tells two promotions of one revision apart
    started_at: datetime | None = None  # when the first attempt began (stable across attempts)

    @property
    def token(self) -> str:
        """The ``$promotion`` marker value for this promotion: ``<ns>:<pipeline>:<env>``."""
        return f"{self.namespace}:{self.pipeline_name}:{self.environment}"

    @property
    def value(self) -> str:
        """What the markers are set to: the promotable part of ``revision`` for the app's kind
        (``6.6.1`` for the chart version ``6.6.1+0cc9a8446c95``; see ``domain.revisions``)."""
        return revisions.promotable(self.app.kind, self.revision)


class PromotionStrategy(Protocol):
    """One way of promoting (pull-request, git-push, notification)."""

    name: str

    async def preview(self, request: PromotionRequest) -> status.ChangeSummary:
        """The change ``promote`` would make now, for approvers (reads only; safe to repeat).

        Raises ``TemporaryError``/``PermanentError`` as ``promote`` does.
        """
        ...

    async def promote(self, request: PromotionRequest) -> status.PromotionResult:
        """Make ``request.revision`` the desired state of ``request.environment``.

        Pre: the intent (phase ``Promoting``) is already stored. Post: the change exists exactly
        once (a repeated call returns the same result without a second commit, PR or event).
        Raises ``ChangeDiffers`` — before changing anything — when the approvals in ``request``
        were given for another change than the one to make now.
        Raises ``domain.errors.TemporaryError`` (retry later) or ``PermanentError``; never leaks a
        secret in a message.
        """
        ...


class EventReceiver(Protocol):
    """Flux notification-controller's event receiver (``--events-addr``), as every Flux
    controller's event recorder posts to it."""

    async def post(self, body: bytes) -> None:
        """Deliver one event (JSON bytes in Flux's event format), sending exactly ``body``.

        Returns once the receiver holds the event: a 2xx answer, or 429, which is
        notification-controller's duplicate filter saying it already has this event. Connection
        errors and 5xx are retried with backoff, then raise ``TemporaryError``; any other 4xx
        raises ``PermanentError``.
        """
        ...


class SecretReader(Protocol):
    """Reads credentials (Secrets in the Pipeline's namespace); values are never logged."""

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        """The Secret's decoded data. Raises ``PermanentError`` naming the Secret when missing."""
        ...
