"""HMAC signatures of webhook bodies, as Flux's ``generic-hmac`` notification provider sends them.

The provider signs the raw request body with the shared key and sends
``X-Signature: <algorithm>=<hex digest>``. The receiver verifies before it parses anything, with a
constant-time comparison, and treats every malformed or missing header as a plain "no" so that all
authentication failures look the same from outside (DESIGN §6). Nothing here ever puts the key
into a message.

Which key bytes Flux signs with depends on its version: notification-controller before v1.7 took
the Secret's ``token`` through Go's ``strings.TrimSpace``; v1.7 and later use the raw bytes. A key
Secret made with ``kubectl create secret --from-file`` ends in a newline, so ``key_candidates``
yields both the raw key and the trimmed one, and ``verify_any`` checks every candidate (always all
of them, each in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SUPPORTED: Final = ("sha224", "sha256", "sha384", "sha512")
_DIGEST_SIZES: Final = {name: hashlib.new(name).digest_size for name in SUPPORTED}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
# Go's unicode.IsSpace: what strings.TrimSpace removes (ASCII space and controls, NEL, NBSP and
# Unicode's White_Space separators).
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


class SignatureError(ValueError):
    """A signature header or algorithm that cannot be used; the message never contains a key."""


def parse_signature_header(value: str) -> tuple[str, bytes]:
    """Split ``"sha256=<hex>"`` into the algorithm name and the digest bytes it claims.

    The algorithm name is matched case-insensitively and the digest length must fit it, so a
    truncated digest is rejected here instead of failing the comparison for an unclear reason.
    """
    algorithm, separator, digest_hex = value.strip().partition("=")
    algorithm = algorithm.strip().lower()
    if not separator or not algorithm:
        raise SignatureError('a signature must look like "sha256=<hex digest>"')
    if algorithm not in _DIGEST_SIZES:
        raise _unsupported(algorithm)
    digest_hex = digest_hex.strip()
    if len(digest_hex) != 2 * _DIGEST_SIZES[algorithm] or not _HEX_DIGITS.issuperset(digest_hex):
        raise SignatureError(
            f"a {algorithm} signature must be {2 * _DIGEST_SIZES[algorithm]} hexadecimal digits"
        )
    return algorithm, bytes.fromhex(digest_hex)


def _unsupported(algorithm: str) -> SignatureError:
    return SignatureError(
        f"the signature algorithm {algorithm[:16]!r} is not supported;"
        f" use one of {', '.join(SUPPORTED)}"
    )


def sign(key: bytes, body: bytes, algorithm: str = "sha256") -> str:
    """The ``X-Signature`` value for ``body``: ``"<algorithm>=<lowercase hex HMAC>"``."""
    if algorithm not in _DIGEST_SIZES:
        raise _unsupported(algorithm)
    if not key:
        raise SignatureError("an HMAC key must not be empty")
    return f"{algorithm}={hmac.new(key, body, algorithm).hexdigest()}"


def go_trim_space(key: bytes) -> bytes:
    """``key`` as Go's ``strings.TrimSpace(string(key))`` returns it (bytes that are not UTF-8
    are kept as they are)."""
    return (
        key.decode("utf-8", "surrogateescape").strip(_GO_SPACE).encode("utf-8", "surrogateescape")
    )


def key_candidates(key: bytes) -> tuple[bytes, bytes]:
    """The keys a Flux version may have signed with: the raw bytes, then the trimmed ones."""
    return key, go_trim_space(key)


def verify_any(keys: tuple[bytes, ...], body: bytes, header: str | None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` under any of ``keys``; never raises.

    Every key is checked (no early exit), each with ``verify``'s constant-time comparison.
    """
    results = [verify(key, body, header) for key in keys]
    return any(results)


def verify(key: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` under ``key``; never raises.

    An empty key verifies nothing: it would let anyone sign, so it is treated as misconfiguration
    rather than as a key. The digest comparison is constant-time.
    """
    if not key or header is None:
        return False
    try:
        algorithm, claimed = parse_signature_header(header)
    except SignatureError:
        return False
    return hmac.compare_digest(hmac.new(key, body, algorithm).digest(), claimed)
