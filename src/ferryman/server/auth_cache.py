"""TokenReview and SubjectAccessReview answers, cached briefly, as kube-apiserver caches its
webhook authenticator's and authorizer's answers.

Every request of the approval API and of the UI identifies its caller (TokenReview) and asks RBAC
(SubjectAccessReview); a pipeline page asks for up to five verbs. Without a cache, N users with
open pages cost the API server several reviews per page view. With it, one user costs at most one
TokenReview per ``ACCEPTED_TTL`` and one review per (verb, pipeline) per ``ALLOWED_TTL``.

Why these times are safe (docs/security.md, "Caches"):

- **accepted token, 30 s / allowed review, 30 s**: a revoked token or a removed RoleBinding is
  still honoured for at most 30 s — kube-apiserver's own defaults for webhook authentication and
  authorization are 2 and 5 minutes. Sign-out does not depend on it: the revocation list is
  checked on every request (``ui.session``) and ends the session at once on every replica.
- **rejected token, 10 s / denied review, 10 s**: a token just created or a grant just bound
  works within 10 s; a caller guessing tokens gets no more TokenReviews through (one per
  distinct token per 10 s, and ``MAX_ENTRIES`` bounds the memory either way).
- **a JWT (an OIDC ID token, a service account token) is never kept past its ``exp``**: the
  accepted entry's time to live is cut to the seconds the token has left, so an expired ID token
  is refused at once, not up to 30 s later. The claim is read without checking the signature —
  it can only shorten the time, never lengthen it, and the TokenReview judged the token itself.
- failures (``Unavailable``) are never cached: the server fails closed (503) and asks again.

Keys: a token is kept only as its SHA-256 digest; a review by everything the SubjectAccessReview
carries (user, uid, groups, verb, resource, group, namespace, name), so two users, or one user
with changed groups, never share an answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from typing import Final

from ferryman.ports import auth
from ferryman.server import ttl_cache

ACCEPTED_TTL: Final = 30.0
REJECTED_TTL: Final = 10.0
ALLOWED_TTL: Final = 30.0
DENIED_TTL: Final = 10.0
MAX_ENTRIES: Final = 4096

ReviewKey = tuple[str, str, tuple[str, ...], str, str, str, str, str]


class CachedAuthenticator:
    """``ports.auth.Authenticator`` answering from a bounded cache of TokenReviews."""

    def __init__(
        self,
        inner: auth.Authenticator,
        *,
        accepted_ttl: float = ACCEPTED_TTL,
        rejected_ttl: float = REJECTED_TTL,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self._accepted = accepted_ttl
        self._rejected = rejected_ttl
        self._wall_clock = wall_clock
        self.cache: ttl_cache.TtlCache[bytes, auth.Identity | None] = ttl_cache.TtlCache(
            max_entries=max_entries, clock=clock
        )

    async def authenticate(self, token: str) -> auth.Identity | None:
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        return await self.cache.load(
            key,
            lambda: self._inner.authenticate(token),
            lambda found: self._accepted_ttl(token) if found is not None else self._rejected,
        )

    def _accepted_ttl(self, token: str) -> float:
        expiry = jwt_expiry(token)
        if expiry is None:
            return self._accepted
        return max(0.0, min(self._accepted, expiry - self._wall_clock()))


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (seconds since the epoch) of a JWT, unverified; ``None`` when ``token``
    is not a JWT or carries no numeric ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return None
    return float(expiry)


class CachedAccessReviewer:
    """``ports.auth.AccessReviewer`` answering from a bounded cache of SubjectAccessReviews."""

    def __init__(
        self,
        inner: auth.AccessReviewer,
        *,
        allowed_ttl: float = ALLOWED_TTL,
        denied_ttl: float = DENIED_TTL,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._allowed = allowed_ttl
        self._denied = denied_ttl
        self.cache: ttl_cache.TtlCache[ReviewKey, tuple[bool, str]] = ttl_cache.TtlCache(
            max_entries=max_entries, clock=clock
        )

    async def review(
        self, identity: auth.Identity, request: auth.AccessRequest
    ) -> tuple[bool, str]:
        key: ReviewKey = (
            identity.user,
            identity.uid,
            identity.groups,
            request.verb,
            request.resource,
            request.group,
            request.namespace,
            request.name,
        )
        return await self.cache.load(
            key,
            lambda: self._inner.review(identity, request),
            lambda answer: self._allowed if answer[0] else self._denied,
        )
