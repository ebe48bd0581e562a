"""``ports.identity.OpenIdProvider`` over httpx and joserfc: discovery, the token endpoint, and
the relying party's checks of the ID token (OpenID Connect Core 1.0, section 3.1.3.7).

Requests are built by pure functions and sent in one place (``_send``), through an injected
``httpx.AsyncClient`` (its TLS trust is the composition root's choice: ``--oidc-ca-file`` or the
system's roots). The discovery document is read once (its ``issuer`` must be the configured one);
the key set is cached and fetched again when an ID token names a key it lacks, at most once per
``REFRESH_INTERVAL``. An ID token is accepted only when:

- it is a compact JWS signed with an allowed asymmetric algorithm (RS/ES/PS 256/384/512, those
  the provider announces) by a key of the provider's key set — never ``none``, never HMAC;
- ``iss`` is the issuer, ``aud`` names the client ID (and ``azp``, when present, is the client);
- ``exp`` is in the future, ``iat`` and ``nbf`` not more than ``LEEWAY`` seconds ahead;
- ``nonce`` is this sign-in's (compared in constant time) and ``sub`` is a non-empty string.

Nothing here logs or puts into an error message a code, a verifier or a token.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeGuard
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from joserfc import jwk, jws
from joserfc.errors import JoseError

from ferryman.ports import identity

ALLOWED_ALGS: Final = (
    *("RS256", "RS384", "RS512"),
    *("ES256", "ES384", "ES512"),
    *("PS256", "PS384", "PS512"),
)
LEEWAY: Final = 60  # seconds of clock skew tolerated for iat and nbf
REFRESH_INTERVAL: Final = 10.0  # seconds between two fetches of the key set
MAX_BODY: Final = 1024 * 1024
WELL_KNOWN: Final = "/.well-known/openid-configuration"


# ---------------------------------------------------------------------------- building requests
def authorization_url(
    endpoint: str, *, client_id: str, scopes: Sequence[str], request: identity.AuthorizationRequest
) -> str:
    """The authorization endpoint with the code flow's parameters (PKCE S256, nonce, state)."""
    parts = urlsplit(endpoint)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(scopes),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
        }
    )
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))


def token_request(
    endpoint: str,
    *,
    client_id: str,
    client_secret: str | None,
    code: str,
    verifier: str,
    redirect_uri: str,
) -> httpx.Request:
    """The token request: ``client_secret_basic`` with a secret, else a public client."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    if client_secret:
        basic = httpx.BasicAuth(_form_encoded(client_id), _form_encoded(client_secret))
        request = httpx.Request("POST", endpoint, data=form, headers=headers)
        return next(basic.auth_flow(request))
    return httpx.Request("POST", endpoint, data={**form, "client_id": client_id}, headers=headers)


def _form_encoded(value: str) -> str:
    """RFC 6749 section 2.3.1: the client ID and secret are form-encoded before Basic."""
    return urlencode({"": value})[1:]


# ---------------------------------------------------------------------------- checking tokens
def import_keys(document: Mapping[str, Any]) -> dict[str, list[jwk.Key]]:
    """Signing keys of a JWKS by ``kid`` (``""`` without one); no symmetric or encryption keys."""
    found: dict[str, list[jwk.Key]] = {}
    for data in document.get("keys") or []:
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC"):
            continue
        if data.get("use", "sig") != "sig":
            continue
        try:
            key = jwk.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
        found.setdefault(str(data.get("kid") or ""), []).append(key)
    return found


def verify_signature(
    token: str, keys: Mapping[str, list[jwk.Key]], algs: Sequence[str]
) -> dict[str, Any] | None:
    """The claims of ``token`` if a key of ``keys`` signed it with one of ``algs``; ``None`` when
    no key for its ``kid`` is known; ``SignInRefused`` otherwise."""
    try:
        obj = jws.extract_compact(token.encode())
    except (JoseError, ValueError) as exc:
        raise identity.SignInRefused("the provider's ID token is not a signed JWT") from exc
    header = obj.headers()
    alg = str(header.get("alg", ""))
    if alg not in algs:
        raise identity.SignInRefused(f"the provider signed the ID token with {alg!r}")
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
    raise identity.SignInRefused("the ID token's signature does not verify")


def check_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str, now: float
) -> identity.SignedIn:
    """The relying party's checks (see the module docstring); ``SignInRefused`` names the first
    that fails."""
    refuse = identity.SignInRefused
    if claims.get("iss") != issuer:
        raise refuse("the ID token was issued by another issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise refuse("the ID token is meant for another client")
    if "azp" in claims and claims["azp"] != client_id:
        raise refuse("the ID token was issued to another client (azp)")
    expiry = claims.get("exp")
    if not _number(expiry) or expiry <= now:
        raise refuse("the ID token has expired")
    for name in ("iat", "nbf"):
        if name in claims and (not _number(claims[name]) or claims[name] > now + LEEWAY):
            raise refuse(f"the ID token's {name} is in the future")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise refuse("the ID token is not for this sign-in (nonce)")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise refuse("the ID token names no subject")
    return identity.SignedIn(id_token="", subject=subject, expires=int(expiry))


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- the provider
class OpenIdConnect:
    """One provider and this deployment's client at it (implements ``OpenIdProvider``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        scopes: Sequence[str] = ("openid", "profile", "email"),
        display_name: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self.issuer = issuer
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes)
        self.display_name = display_name or urlsplit(issuer).hostname or issuer
        self._clock = clock
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, list[jwk.Key]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def authorization_url(self, request: identity.AuthorizationRequest) -> str:
        endpoint = await self._endpoint("authorization_endpoint")
        return authorization_url(
            endpoint, client_id=self.client_id, scopes=self.scopes, request=request
        )

    async def redeem(
        self, *, code: str, verifier: str, redirect_uri: str, nonce: str
    ) -> identity.SignedIn:
        endpoint = await self._endpoint("token_endpoint")
        request = token_request(
            endpoint,
            client_id=self.client_id,
            client_secret=self._secret,
            code=code,
            verifier=verifier,
            redirect_uri=redirect_uri,
        )
        answer = await self._send(request, "the token endpoint", refusals=True)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise identity.SignInRefused("the provider returned no ID token")
        claims = await self._verified(id_token)
        found = check_claims(
            claims, issuer=self.issuer, client_id=self.client_id, nonce=nonce, now=self._clock()
        )
        return identity.SignedIn(id_token=id_token, subject=found.subject, expires=found.expires)

    async def _verified(self, token: str) -> dict[str, Any]:
        algs = await self._algorithms()
        if self._fetched_at is not None:
            claims = verify_signature(token, self._keys, algs)
            if claims is not None:
                return claims
        await self._refresh_keys()
        claims = verify_signature(token, self._keys, algs)
        if claims is None:
            raise identity.SignInRefused("the ID token's key is not in the provider's key set")
        return claims

    async def _algorithms(self) -> tuple[str, ...]:
        announced = (await self._document()).get("id_token_signing_alg_values_supported")
        if not isinstance(announced, list):
            return ("RS256",)  # the OpenID Connect default
        return tuple(alg for alg in ALLOWED_ALGS if alg in announced)

    async def _refresh_keys(self) -> None:
        async with self._lock:
            last = self._fetched_at
            if last is not None and self._clock() - last < REFRESH_INTERVAL:
                return
            self._fetched_at = self._clock()
            uri = await self._endpoint("jwks_uri")
            document = await self._send(httpx.Request("GET", uri), "the key set")
            self._keys = import_keys(document)

    async def _endpoint(self, name: str) -> str:
        value = (await self._document()).get(name)
        if not isinstance(value, str) or not value:
            raise identity.ProviderUnavailable(f"the provider's discovery document has no {name}")
        return value

    async def _document(self) -> dict[str, Any]:
        if self._discovery is None:
            url = self.issuer.rstrip("/") + WELL_KNOWN
            document = await self._send(httpx.Request("GET", url), "the discovery document")
            if document.get("issuer") != self.issuer:
                raise identity.ProviderUnavailable(
                    "the provider's discovery document names another issuer"
                )
            self._discovery = document
        return self._discovery

    async def _send(
        self, request: httpx.Request, what: str, *, refusals: bool = False
    ) -> dict[str, Any]:
        """Send one request; its JSON object answer, else an ``IdentityError`` naming ``what``."""
        try:
            response = await self._http.send(request, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise identity.ProviderUnavailable(
                f"the provider cannot be reached ({what}): {type(exc).__name__}"
            ) from exc
        if refusals and 400 <= response.status_code < 500:
            raise identity.SignInRefused(f"the provider refused the sign-in ({_error(response)})")
        if response.status_code != 200 or len(response.content) > MAX_BODY:
            raise identity.ProviderUnavailable(
                f"the provider answered HTTP {response.status_code} for {what}"
            )
        try:
            document = response.json()
        except ValueError as exc:
            raise identity.ProviderUnavailable(f"{what} is not JSON") from exc
        if not isinstance(document, dict):
            raise identity.ProviderUnavailable(f"{what} is not a JSON object")
        return document


def _error(response: httpx.Response) -> str:
    """The OAuth error code of a refusal (RFC 6749 section 5.2), never its free text."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    return code if isinstance(code, str) and code.replace("_", "").isalnum() else "no error code"
