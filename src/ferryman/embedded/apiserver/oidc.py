"""kube-apiserver's OpenID Connect authenticator: the ``--oidc-*`` flags, their checks, ID tokens.

What the flags mean and when the server refuses to start follows kube-apiserver
(``pkg/kubeapiserver/options/authentication.go`` turns the flags into a ``JWTAuthenticator``;
``staging/src/k8s.io/apiserver/pkg/apis/apiserver/validation/validation.go`` checks it;
``staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/oidc/oidc.go`` verifies tokens):

- ``--oidc-issuer-url`` and ``--oidc-client-id`` come together; the issuer URL is ``https`` without
  user info, query or fragment, and is not the service-account issuer;
- ``--oidc-username-claim`` (default ``sub``); ``--oidc-username-prefix``: when not given, every
  claim but ``email`` is prefixed with ``<issuer URL>#`` (kubernetes/kubernetes#31380), ``-``
  disables prefixing, anything else is the prefix;
- ``--oidc-groups-claim`` (a string or a list of strings) and ``--oidc-groups-prefix``;
- ``--oidc-ca-file`` (PEM) verifies the issuer's TLS certificate, else the system's roots;
- ``--oidc-signing-algs`` (default ``RS256``) from RS/ES/PS 256/384/512 only.

A token is this authenticator's only if its (unverified) ``iss`` is the issuer URL; any other
token is left to the next authenticator. Ours must then pass everything go-oidc's verifier checks:
a compact JWS whose ``alg`` is allowed, signed by a key of the issuer's JWKS (found through
``/.well-known/openid-configuration``, whose ``issuer`` must be the issuer URL), ``iss`` equal to
the issuer, the client ID among ``aud``, not expired (``exp``), not before ``nbf`` (go-oidc's five
minutes of leeway there); then the username claim must be a string (with ``email``,
``email_verified`` must be true when present) and groups a string or strings.

The discovery document and the key set are fetched when the first token needs them and cached; a
token signed with a key the cache does not know makes one refetch of the key set (the issuer
rotated its keys), at most once every ``REFRESH_INTERVAL`` seconds, so forged ``kid``\\ s cannot
turn the server into a flood of requests to the issuer. Fetches run in a thread and never block
the server's loop.

Deliberate departures from kube-apiserver, both for a server that runs on one machine:
``http://`` issuers are accepted on loopback addresses (``ferryman up``'s demo provider and the
tests run there; kube-apiserver takes ``https`` only), and an identity whose username or a group
starts with ``system:`` is refused (names Kubernetes reserves for its own identities; a provider
must not be able to mint ``system:masters``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from joserfc import jwk, jws
from joserfc.errors import JoseError

from ferryman.embedded.apiserver import auth

log = logging.getLogger(__name__)

ALLOWED_ALGS: Final = frozenset(
    {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)
SERVICE_ACCOUNT_ISSUER: Final = "https://kubernetes.default.svc.cluster.local"
WELL_KNOWN: Final = "/.well-known/openid-configuration"
NBF_LEEWAY: Final = 300  # go-oidc's leeway for "nbf" (clock skew between issuer and server)
REFRESH_INTERVAL: Final = 10.0  # seconds between two fetches of the key set
FETCH_TIMEOUT: Final = 10.0
MAX_DOCUMENT_BYTES: Final = 1024 * 1024
MAX_TOKEN_BYTES: Final = 16 * 1024
RESERVED_PREFIX: Final = "system:"
#: Fetches a URL: the body of a 200 answer, else ``FetchError``.
Fetch = Callable[[str], bytes]


class FetchError(Exception):
    """The issuer's discovery document or key set could not be fetched or read."""


class TokenRefused(Exception):
    """A token of this issuer that does not verify (its message says why, never the token)."""


@dataclass(frozen=True)
class Options:
    """The ``--oidc-*`` flags as given (``username_prefix=None``: the flag was not given)."""

    issuer_url: str
    client_id: str
    username_claim: str = "sub"
    username_prefix: str | None = None
    groups_claim: str = ""
    groups_prefix: str = ""
    ca_file: Path | None = None
    signing_algs: tuple[str, ...] = ("RS256",)

    def effective_username_prefix(self) -> str:
        """kube-apiserver's defaulting: the issuer URL and ``#`` unless the claim is ``email``;
        ``-`` means no prefix."""
        if self.username_prefix == "-":
            return ""
        if not self.username_prefix:
            return "" if self.username_claim == "email" else f"{self.issuer_url}#"
        return self.username_prefix


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problems(options: Options) -> list[str]:
    """Why kube-apiserver would refuse these flags (empty: they are fine)."""
    found: list[str] = []
    if not options.issuer_url or not options.client_id:
        found.append("--oidc-issuer-url and --oidc-client-id must be specified together")
        return found
    url = options.issuer_url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        return [f"--oidc-issuer-url {url!r} is not a URL: {exc}"]
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        found.append(f"--oidc-issuer-url {url!r}: URL scheme must be https (http on loopback only)")
    if parts.username is not None or parts.password is not None:
        found.append(f"--oidc-issuer-url {url!r}: URL must not contain a username or password")
    if parts.query:
        found.append(f"--oidc-issuer-url {url!r}: URL must not contain a query")
    if parts.fragment:
        found.append(f"--oidc-issuer-url {url!r}: URL must not contain a fragment")
    if not host:
        found.append(f"--oidc-issuer-url {url!r}: URL must name a host")
    if url == SERVICE_ACCOUNT_ISSUER:
        found.append(f"--oidc-issuer-url {url!r} must not be the service-account issuer")
    if not options.username_claim:
        found.append("--oidc-username-claim must not be empty")
    for alg in options.signing_algs:
        if alg not in ALLOWED_ALGS:
            found.append(f"--oidc-signing-algs: unsupported signing alg {alg!r}")
    if options.ca_file is not None:
        found += _ca_problems(options.ca_file)
    return found


def _ca_problems(path: Path) -> list[str]:
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as exc:
        return [f"--oidc-ca-file {path}: cannot read a PEM certificate from it ({exc})"]
    return []


def fetcher(options: Options) -> Fetch:
    """GET over urllib, trusting ``--oidc-ca-file`` (or the system's roots), no redirects."""
    context = ssl.create_default_context(
        cafile=str(options.ca_file) if options.ca_file is not None else None
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())

    def fetch(url: str) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - the configured issuer
        try:
            with opener.open(request, timeout=FETCH_TIMEOUT) as response:
                if response.status != 200:
                    raise FetchError(f"GET {url} answered {response.status}")
                body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchError(f"GET {url} failed: {exc}") from exc
        if len(body) > MAX_DOCUMENT_BYTES:
            raise FetchError(f"GET {url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return body

    return fetch


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise FetchError(f"the {what} is not JSON") from exc
    if not isinstance(document, dict):
        raise FetchError(f"the {what} is not a JSON object")
    return document


def untrusted_claims(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWS, unverified (``None`` when ``token`` is not one)."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_BYTES:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def import_keys(document: Mapping[str, Any], algs: tuple[str, ...]) -> dict[str, list[jwk.Key]]:
    """The signing keys of a JWKS by ``kid`` (``""`` for keys without one). Symmetric keys,
    encryption keys and keys no allowed ``alg`` can use are left out."""
    found: dict[str, list[jwk.Key]] = {}
    for data in document.get("keys") or []:
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC"):
            continue
        if data.get("use", "sig") != "sig" or (data.get("alg") and data["alg"] not in algs):
            continue
        try:
            key = jwk.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
        found.setdefault(str(data.get("kid") or ""), []).append(key)
    return found


def verify_signature(
    token: str, keys: Mapping[str, list[jwk.Key]], algs: tuple[str, ...]
) -> dict[str, Any] | None:
    """The claims when a key of ``keys`` verifies ``token`` under an allowed ``alg``; ``None``
    when no key for its ``kid`` is known (refetch the key set); ``TokenRefused`` otherwise."""
    try:
        obj = jws.extract_compact(token.encode())
    except (JoseError, ValueError) as exc:
        raise TokenRefused("the token is not a compact JWS") from exc
    header = obj.headers()
    alg = header.get("alg")
    if alg not in algs:
        raise TokenRefused(f"the token is signed with {alg!r}, not one of {', '.join(algs)}")
    kid = header.get("kid")
    candidates = keys.get(kid, []) if kid else [k for group in keys.values() for k in group]
    if not candidates:
        return None
    for key in candidates:
        try:
            if jws.validate_compact(obj, key, algorithms=[alg]):
                claims = json.loads(obj.payload)
                if isinstance(claims, dict):
                    return claims
        except (JoseError, ValueError, TypeError):
            continue
    raise TokenRefused("the token's signature does not verify")


def check_claims(claims: Mapping[str, Any], options: Options, *, now: float) -> None:
    """``iss``, ``aud``, ``exp`` and ``nbf`` as go-oidc checks them (``TokenRefused``)."""
    if claims.get("iss") != options.issuer_url:
        raise TokenRefused(f"the token was issued by {claims.get('iss')!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or options.client_id not in audiences:
        raise TokenRefused(f"the token is not for the audience {options.client_id!r}")
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float) or isinstance(expiry, bool) or expiry <= now:
        raise TokenRefused("the token has expired (or has no valid exp)")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and not_before > now + NBF_LEEWAY:
        raise TokenRefused("the token is not valid yet (nbf)")


def user_of(claims: Mapping[str, Any], options: Options) -> auth.User:
    """The identity the claims name, mapped as kube-apiserver maps it (``TokenRefused``)."""
    name = claims.get(options.username_claim)
    if not isinstance(name, str) or not name:
        raise TokenRefused(f"the claim {options.username_claim!r} is not a non-empty string")
    verified = claims.get("email_verified", True)
    if options.username_claim == "email" and verified is not True:
        raise TokenRefused("the email address is not verified")
    groups: list[str] = []
    if options.groups_claim and options.groups_claim in claims:
        value = claims[options.groups_claim]
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise TokenRefused(f"the claim {options.groups_claim!r} is not a string or strings")
        groups = [options.groups_prefix + group for group in value]
    user = auth.User(options.effective_username_prefix() + name, "", tuple(groups))
    if user.name.startswith(RESERVED_PREFIX) or any(
        g.startswith(RESERVED_PREFIX) for g in user.groups
    ):
        raise TokenRefused("identities starting with system: are reserved for Kubernetes")
    return user


class Authenticator:
    """One issuer's ID tokens → users (a link of ``auth.TokenTable``'s chain)."""

    def __init__(
        self,
        options: Options,
        *,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self._fetch = fetch or fetcher(options)
        self._clock = clock
        self._jwks_uri = ""
        self._keys: dict[str, list[jwk.Key]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, token: str) -> auth.User | None:
        """The token's user; ``None`` when it is another issuer's or does not verify."""
        unverified = untrusted_claims(token)
        if unverified is None or unverified.get("iss") != self.options.issuer_url:
            return None  # not ours: the next authenticator may know it
        try:
            claims = await self._verified(token)
            check_claims(claims, self.options, now=self._clock())
            return user_of(claims, self.options)
        except TokenRefused as exc:
            log.info("OIDC token refused issuer=%s reason=%s", self.options.issuer_url, exc)
        except FetchError as exc:
            log.warning("OIDC issuer unavailable issuer=%s error=%s", self.options.issuer_url, exc)
        return None

    async def _verified(self, token: str) -> dict[str, Any]:
        algs = self.options.signing_algs
        if self._fetched_at is not None:
            claims = verify_signature(token, self._keys, algs)
            if claims is not None:
                return claims
        await self._refresh()
        claims = verify_signature(token, self._keys, algs)
        if claims is None:
            raise TokenRefused("the token's key is not in the issuer's key set")
        return claims

    async def _refresh(self) -> None:
        """Fetch discovery (once) and the key set, at most once per ``REFRESH_INTERVAL``."""
        async with self._lock:
            last = self._fetched_at
            if last is not None and self._clock() - last < REFRESH_INTERVAL:
                return
            self._fetched_at = self._clock()
            if not self._jwks_uri:
                self._jwks_uri = await asyncio.to_thread(self._discover)
            document = _json(await asyncio.to_thread(self._fetch, self._jwks_uri), "key set")
            self._keys = import_keys(document, self.options.signing_algs)

    def _discover(self) -> str:
        url = self.options.issuer_url.rstrip("/") + WELL_KNOWN
        document = _json(self._fetch(url), "discovery document")
        if document.get("issuer") != self.options.issuer_url:
            raise FetchError(
                f"the discovery document names the issuer {document.get('issuer')!r}, "
                f"not {self.options.issuer_url!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise FetchError("the discovery document has no jwks_uri")
        return jwks_uri
