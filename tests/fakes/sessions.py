"""An in-memory ``SessionStore``: one key and one revocation list, shared by whoever holds it.

Two servers given the same ``FakeSessions`` behave like two replicas reading one Secret. It can be
told to be unavailable, so tests can check the UI fails closed.
"""

from __future__ import annotations

import secrets

from ferryman.ports import kubernetes as k8s
from ferryman.ports import sessions


class FakeSessions:
    """``ports.sessions.SessionStore`` in memory."""

    def __init__(self) -> None:
        self.state = sessions.SessionState(key=secrets.token_bytes(32))
        self.unavailable = False

    async def current(self) -> sessions.SessionState:
        if self.unavailable:
            raise k8s.Unavailable("the fake session store is down")
        return self.state

    async def revoke(self, session_id: str, expires: int) -> None:
        revoked = {**self.state.revoked, session_id: expires}
        self.state = sessions.SessionState(self.state.key, self.state.not_before, revoked)
