"""Service account tokens: TokenRequest (``serviceaccounts/{name}/token``) and their authentication.

Tokens are JWTs shaped like kube-apiserver's bound tokens (``iss``, ``sub`` =
``system:serviceaccount:<ns>:<name>``, ``aud``, ``exp``/``iat``/``nbf`` and the ``kubernetes.io``
claim naming the namespace and the service account with its UID). They are signed with HS256 and
a key kept in the server's state directory (kube-apiserver uses RS256 with
``--service-account-signing-key-file``; no client here verifies the signature, only this server
does), so they survive restarts. A token authenticates while it has not expired and its service
account still exists with the same UID — deleting the account revokes its tokens, as upstream.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ferryman.embedded.apiserver import auth, errors, rbac
from ferryman.embedded.apiserver.errors import StatusCause

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600  # SetDefaults_TokenRequestSpec
MIN_EXPIRATION = 600
#: Looks a service account up by (namespace, name); returns its UID or None.
AccountLookup = Callable[[str, str], str | None]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, signing_input: str) -> str:
    return _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def token_request(
    key: bytes,
    body: dict[str, Any],
    *,
    namespace: str,
    name: str,
    account_uid: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Answer a TokenRequest for the service account ``namespace/name`` (validated: 422)."""
    spec = dict(body.get("spec") or {})
    expiration = spec.get("expirationSeconds")
    if expiration is None:
        expiration = DEFAULT_EXPIRATION
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        raise errors.bad_request("spec.expirationSeconds must be an integer")
    if expiration < MIN_EXPIRATION or expiration > 2**32:
        detail = (
            "may not specify a duration less than 10 minutes"
            if expiration < MIN_EXPIRATION
            else "may not specify a duration larger than 2^32 seconds"
        )
        raise errors.invalid(
            "TokenRequest",
            "authentication.k8s.io",
            name,
            [
                StatusCause(
                    "FieldValueInvalid",
                    f"Invalid value: {expiration}: {detail}",
                    "spec.expirationSeconds",
                )
            ],
        )
    audiences = list(spec.get("audiences") or [ISSUER])
    issued = int(now if now is not None else time.time())
    claims = {
        "aud": audiences,
        "exp": issued + expiration,
        "iat": issued,
        "iss": ISSUER,
        "nbf": issued,
        "sub": f"{rbac.SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": account_uid},
        },
    }
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    token = f"{header}.{payload}.{_sign(key, f'{header}.{payload}')}"
    expires = datetime.fromtimestamp(issued + expiration, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec.update(audiences=audiences, expirationSeconds=expiration)
    spec.setdefault("boundObjectRef", None)
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": expires},
    }


def verify(
    key: bytes, token: str, lookup: AccountLookup, *, now: float | None = None
) -> auth.User | None:
    """The service account a token of ours names, if it is valid and the account still exists."""
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(parts[2], _sign(key, f"{parts[0]}.{parts[1]}")):
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
        namespace = str(claims["kubernetes.io"]["namespace"])
        account = claims["kubernetes.io"]["serviceaccount"]
        name, uid, expires = str(account["name"]), str(account["uid"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= (now if now is not None else time.time()) or lookup(namespace, name) != uid:
        return None
    return auth.User(
        f"{rbac.SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        uid,
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", auth.AUTHENTICATED),
    )
