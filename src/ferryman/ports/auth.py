"""Ports for the HTTP server: who calls, what RBAC lets them do, and reconcile triggers.

The approval API never decides on its own who may approve: it asks the API server, the way
``kubectl`` and aggregated API servers do.

- ``Authenticator`` turns a bearer token into an ``Identity`` (a TokenReview).
- ``AccessReviewer`` answers "may this identity do verb V on pipelines/NAME in namespace NS?"
  (a SubjectAccessReview), so RBAC can grant ``approve`` per pipeline.
- ``Trigger`` asks the controller to reconcile a pipeline soon. The server never promotes: it
  records approvals in status (or, for Flux events, nothing at all) and pulls this trigger.

Both review ports raise ``ports.kubernetes.Unavailable`` when the API server cannot answer; the
server then fails closed (503), never open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Identity:
    """An authenticated user as TokenReview describes them; ``repr`` never shows a credential."""

    user: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class AccessRequest:
    """What a SubjectAccessReview asks: ``verb`` on ``resource`` of ``group`` (``name`` in
    ``namespace``; ``namespace=""`` means every namespace, ``name=""`` every object)."""

    verb: str
    resource: str
    group: str
    namespace: str = ""
    name: str = ""


class Authenticator(Protocol):
    """Identifies the owner of a bearer token."""

    async def authenticate(self, token: str) -> Identity | None:
        """The token's owner, or ``None`` when the API server does not accept the token.

        Raises ``ports.kubernetes.Unavailable`` when the review itself cannot be made.
        """
        ...


class AccessReviewer(Protocol):
    """Asks the API server's authorizer (RBAC) about one request."""

    async def review(self, identity: Identity, request: AccessRequest) -> tuple[bool, str]:
        """``(allowed, reason)``: the authorizer's answer and its explanation (may be empty).

        Raises ``ports.kubernetes.Unavailable`` when the review itself cannot be made.
        """
        ...


class Trigger(Protocol):
    """Enqueues a pipeline for reconciliation (on this replica; the leader does the work)."""

    def enqueue(self, namespace: str, name: str) -> None:
        """Ask for a reconcile of ``namespace/name`` soon; never blocks, never fails."""
        ...
