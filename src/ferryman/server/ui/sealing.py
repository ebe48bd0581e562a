"""Sealed session cookies and session-bound CSRF tokens (pure: bytes and times in, values out).

A session is (id, bearer token, issued, expires). ``seal`` encrypts it with AES-256-GCM under a
key derived (HKDF-SHA256) from the shared key material of ``ports.sessions``; the cookie is
``v1.`` + base64url(nonce ‖ ciphertext ‖ tag). Whoever lacks the key can neither read the token
nor forge or alter a session, and every replica holding the key can open it. ``open_sealed``
returns ``None`` for anything it cannot open or that has expired; the caller also checks the
revocation list.

The CSRF token of a session is HMAC-SHA256(csrf key, session id), a second key derived from the
same material: bound to the session (another session's token does not match) and new at every
sign-in, since each sign-in makes a new session id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX: Final = "v1."
NONCE_BYTES: Final = 12
MAX_COOKIE_BYTES: Final = 4000  # browsers keep cookies up to 4,096 bytes with name and attributes
_SEAL_INFO: Final = b"ferryman ui session seal v1"
_CSRF_INFO: Final = b"ferryman ui session csrf v1"
_AAD: Final = b"ferryman-session-v1"


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its id, the bearer token it signed in with, and its lifetime."""

    id: str
    token: str
    issued: int  # Unix seconds
    expires: int  # Unix seconds; at most issued + the session lifetime


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def seal(material: bytes, session: Session) -> str:
    """The cookie value holding ``session``, encrypted and authenticated."""
    plain = json.dumps(
        {"sid": session.id, "tok": session.token, "iat": session.issued, "exp": session.expires},
        separators=(",", ":"),
    ).encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_derive(material, _SEAL_INFO)).encrypt(nonce, plain, _AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_sealed(material: bytes, cookie: str, *, now: int) -> Session | None:
    """The session sealed in ``cookie``, or ``None`` when it is not one or has expired."""
    if not cookie.startswith(PREFIX) or len(cookie) > MAX_COOKIE_BYTES:
        return None
    body = cookie[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(_derive(material, _SEAL_INFO)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _AAD
        )
        fields = json.loads(plain)
        found = Session(
            id=str(fields["sid"]),
            token=str(fields["tok"]),
            issued=int(fields["iat"]),
            expires=int(fields["exp"]),
        )
    except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
        return None
    return found if found.expires > now else None


def csrf_token(material: bytes, session_id: str) -> str:
    """The CSRF token of the session ``session_id``."""
    key = _derive(material, _CSRF_INFO)
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()
