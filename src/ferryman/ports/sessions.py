"""Web UI sessions shared by every replica: the sealing key and the revocation list.

The UI keeps no session table. A session lives in a cookie sealed (authenticated encryption) with
a key every replica reads, and signing out adds the session's id to a revocation list every
replica sees, until the session would have expired anyway. Both live outside the replicas (on a
cluster: one Secret, see ``adapters.kubernetes.sessions``), so two replicas without a database
agree on who is signed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SessionState:
    """What every replica knows about UI sessions right now."""

    key: bytes = field(repr=False)  # the sealing key material (32 random bytes)
    not_before: int = 0  # sessions issued before this Unix second are void (list overflow)
    revoked: Mapping[str, int] = field(default_factory=dict)  # session id -> its expiry

    def valid(self, session_id: str, issued: int) -> bool:
        """Whether a session with this id and issue time has been neither revoked nor voided."""
        return issued >= self.not_before and session_id not in self.revoked


class SessionStore(Protocol):
    """Where the sealing key and the revocation list live.

    ``current`` may serve a cached copy, kept fresh by watching the store; ``revoke`` is seen by
    this replica at once and by the others as soon as their watch delivers it.
    """

    async def current(self) -> SessionState:
        """The key and revocations; creates the key on first use. Raises ``KubernetesError``
        (``Unavailable``) when the store cannot be read: the UI then fails closed."""
        ...

    async def revoke(self, session_id: str, expires: int) -> None:
        """Add ``session_id`` until ``expires`` (Unix seconds) and drop entries already expired;
        when the list is full, void every session issued until now instead (fail closed)."""
        ...
