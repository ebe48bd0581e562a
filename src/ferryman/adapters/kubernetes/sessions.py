"""``SessionStore`` over one Secret in the controller's namespace, watched by every replica.

The Secret (default ``ferryman-system/ferryman-ui-sessions``, type ``Opaque``) holds:

- ``key``: 32 random bytes, the sealing key material (delete the Secret to rotate it: every
  session ends, a new key is made on next use);
- ``not-before``: Unix seconds; sessions issued earlier are void (set when the list overflows);
- ``revoked.<session id>``: that session's expiry in Unix seconds, added at sign-out.

The first replica that needs the Secret creates it (a create racing another replica's gets 409;
both then read the one that won). A sign-out is one JSON merge patch adding its key and removing
expired ones, so sign-outs on two replicas at once never overwrite each other. Each replica
watches the Secret by name (``fieldSelector=metadata.name=…``, so RBAC can grant it through
``resourceNames``) and answers from that cache; while its watch is down it reads the Secret on
every call instead, and it reads it again at least once a minute in any case, so a stalled watch
cannot keep a stale list for long. RBAC this needs: ``config/rbac/
ui_sessions_role.yaml``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

import lightkube
from lightkube.types import PatchType

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.ports import kubernetes as k8s
from ferryman.ports import sessions

log = logging.getLogger(__name__)

SECRET_NAME: Final = "ferryman-ui-sessions"  # noqa: S105 - a Secret's name, not a secret
KEY_BYTES: Final = 32
MAX_REVOKED: Final = 2000  # ~80 KiB of Secret; past it, every session issued so far is voided
_REVOKED: Final = "revoked."
_SESSION_ID: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_RETRY_MAX: Final = 30.0
# A watch can stall without an error; the cache is trusted at most this long after the last event
# or read, so a silently dead watch delays a sign-out on another replica by a minute at most.
RESYNC_SECONDS: Final = 60.0


def _text(value: int) -> str:
    return base64.b64encode(str(value).encode()).decode()


def parse(obj: k8s.JSON) -> sessions.SessionState:
    """The state a Secret object holds (``Unavailable`` when its key is unusable)."""
    data: dict[str, str] = obj.get("data") or {}
    try:
        key = base64.b64decode(data.get("key", ""), validate=True)
        decoded = {
            name: base64.b64decode(value).decode()
            for name, value in data.items()
            if name == "not-before" or name.startswith(_REVOKED)
        }
        not_before = int(decoded.get("not-before") or 0)
        revoked = {
            name.removeprefix(_REVOKED): int(value)
            for name, value in decoded.items()
            if name.startswith(_REVOKED)
        }
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise k8s.Unavailable("the UI session Secret holds data that cannot be read") from exc
    if len(key) < KEY_BYTES:
        raise k8s.Unavailable(f"the UI session Secret's key is shorter than {KEY_BYTES} bytes")
    return sessions.SessionState(key=key, not_before=not_before, revoked=revoked)


class SecretSessionStore:
    """UI sessions in one Secret (see the module docstring)."""

    def __init__(
        self,
        client: lightkube.AsyncClient,
        *,
        namespace: str,
        name: str = SECRET_NAME,
        clock: Callable[[], float] = time.time,
        max_revoked: int = MAX_REVOKED,
    ) -> None:
        self._client = client
        self._max_revoked = max_revoked
        self._namespace = urls.plain(namespace)
        self._name = urls.plain(name)
        self._clock = clock
        self._state: sessions.SessionState | None = None
        self._synced = False  # the watch is connected and has delivered the Secret
        self._fresh_until = 0.0  # monotonic time until which the cache is trusted
        self._watcher: asyncio.Task[None] | None = None

    async def current(self) -> sessions.SessionState:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="ui-session-secret-watch")
        if self._synced and self._state is not None and time.monotonic() < self._fresh_until:
            return self._state
        self._state = await self._read_or_create()
        self._fresh_until = time.monotonic() + RESYNC_SECONDS
        return self._state

    async def revoke(self, session_id: str, expires: int) -> None:
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError("not a session id")
        state = await self.current()
        now = int(self._clock())
        patch: dict[str, str | None] = {
            _REVOKED + old: None for old, until in state.revoked.items() if until <= now
        }
        live = len(state.revoked) - len(patch)
        if live + 1 > self._max_revoked:
            patch = {_REVOKED + old: None for old in state.revoked}
            patch["not-before"] = _text(now + 1)
            log.warning("UI sign-out list full: every session issued so far is ended")
        else:
            patch[_REVOKED + session_id] = _text(expires)
        with errors.translated():
            patched = await self._client.patch(
                resources.SECRET,
                self._name,
                {"data": patch},
                namespace=self._namespace,
                patch_type=PatchType.MERGE,
            )
        self._state = parse(dict(patched.to_dict()))

    async def close(self) -> None:
        """Stop watching."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _read_or_create(self) -> sessions.SessionState:
        try:
            with errors.translated():
                found = await self._client.get(
                    resources.SECRET, self._name, namespace=self._namespace
                )
            return parse(dict(found.to_dict()))
        except k8s.NotFound:
            pass
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self._name,
                "namespace": self._namespace,
                "labels": {"app.kubernetes.io/part-of": "ferryman"},
            },
            "data": {"key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
        }
        try:
            with errors.translated():
                created = await self._client.create(resources.build(resources.SECRET, body))
            log.info("Created the UI session Secret secret=%s/%s", self._namespace, self._name)
            return parse(dict(created.to_dict()))
        except k8s.Conflict:  # another replica created it first: use theirs
            with errors.translated():
                found = await self._client.get(
                    resources.SECRET, self._name, namespace=self._namespace
                )
            return parse(dict(found.to_dict()))

    async def _watch(self) -> None:
        delay = 0.5
        while True:
            try:
                with errors.translated():
                    async for kind, obj in self._client.watch(
                        resources.SECRET,
                        namespace=self._namespace,
                        fields={"metadata.name": self._name},
                    ):
                        if kind == "DELETED":
                            self._state, self._synced = None, False
                        else:
                            self._state, self._synced = parse(dict(obj.to_dict())), True
                            self._fresh_until = time.monotonic() + RESYNC_SECONDS
                        delay = 0.5
            except k8s.KubernetesError as exc:
                log.warning("UI session Secret watch failed error=%s", type(exc).__name__)
            self._synced = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)
