"""Sign-in through an OpenID Provider (authorization code + PKCE), and where sign-in returns to.

``GET /signin/oidc?next=/pipelines/…`` starts a sign-in: a new ``state``, ``nonce`` and PKCE
``verifier`` are sealed (AES-GCM, the sessions' key material, a key of their own) into a
short-lived cookie, and the browser goes to the provider. ``GET /signin/oidc/callback`` takes the
provider's answer only when its ``state`` equals the cookie's (constant-time), redeems the code
with the verifier, has the adapter verify the ID token (signature, ``iss``, ``aud``, expiry and
this sign-in's ``nonce``), asks the API server who it names (TokenReview, as for a pasted token),
and seals it into the session like a pasted token, for at most the token's own lifetime.

Cookies and ``SameSite``: the provider's redirect back is a cross-site navigation, so the flow
cookie is ``SameSite=Lax`` (sent on top-level GET navigations) and scoped to ``/signin/oidc``;
the session cookie stays ``Strict``. A ``Strict`` cookie set on a cross-site redirect chain is not
sent on the chain's next hop, so the callback does not redirect: it answers a tiny page whose meta
refresh (and link) navigates to the page the sign-in came from — a same-site navigation that
carries the new session.

Both ways of signing in return to the page they came from (``next_page``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ferryman.ports import identity
from ferryman.server.ui import routes, session
from ferryman.server.ui.next_page import safe_next

log = logging.getLogger(__name__)

FLOW_COOKIE: Final = "ferryman_oidc"
FLOW_PATH: Final = "/signin/oidc"
CALLBACK_PATH: Final = "/signin/oidc/callback"
FLOW_SECONDS: Final = 600
_FLOW_INFO: Final = b"ferryman ui oidc flow v1"
_FLOW_AAD: Final = b"ferryman-oidc-flow-v1"
_PREFIX: Final = "f1."
_EXPIRED: Final = (
    "This sign-in has expired or was started in another browser tab or browser; start again."
)


def code_challenge(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the callback must find again."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: int


def _key(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FLOW_INFO).derive(material)


def seal_flow(material: bytes, flow: Flow) -> str:
    """The flow cookie's value: encrypted and authenticated, unreadable without the key."""
    plain = json.dumps(
        {"s": flow.state, "n": flow.nonce, "v": flow.verifier, "x": flow.next, "e": flow.expires},
        separators=(",", ":"),
    ).encode()
    nonce = os.urandom(12)
    sealed = AESGCM(_key(material)).encrypt(nonce, plain, _FLOW_AAD)
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_flow(material: bytes, value: str, *, now: int) -> Flow | None:
    """The flow sealed in ``value``; ``None`` when it is not one of ours or has expired."""
    if not value.startswith(_PREFIX) or len(value) > 2048:
        return None
    body = value[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(_key(material)).decrypt(raw[:12], raw[12:], _FLOW_AAD)
        fields = json.loads(plain)
        flow = Flow(
            state=str(fields["s"]),
            nonce=str(fields["n"]),
            verifier=str(fields["v"]),
            next=safe_next(str(fields["x"])),
            expires=int(fields["e"]),
        )
    except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
        return None
    return flow if flow.expires > now else None


def _remember(response: Response, value: str) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        secure=True,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site top-level navigation
    )


def _forget(response: Response) -> None:
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, secure=True, httponly=True, samesite="lax")


class OidcSignIn:
    """The two routes of a sign-in through the provider (see the module docstring)."""

    def __init__(self, ui: routes.Ui, provider: identity.OpenIdProvider) -> None:
        self.ui = ui
        self.provider = provider

    def endpoints(self, guarded: routes.Guard) -> list[BaseRoute]:
        """``/signin/oidc`` and its callback, wrapped like every UI route."""
        return [
            Route(FLOW_PATH, guarded(self.start), methods=["GET"]),
            Route(CALLBACK_PATH, guarded(self.callback), methods=["GET"]),
        ]

    @property
    def redirect_uri(self) -> str:
        return self.ui.deps.options.oidc_redirect_url

    async def start(self, request: Request) -> Response:
        """A new flow in a sealed cookie, then the browser goes to the provider."""
        state = routes.context(request).state
        next_path = safe_next(request.query_params.get("next"))
        if state is None:
            return self.ui.sign_in_form(request, status=503, error=_UNAVAILABLE, next=next_path)
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            next=next_path,
            expires=self.ui.now() + FLOW_SECONDS,
        )
        asked = identity.AuthorizationRequest(
            redirect_uri=self.redirect_uri,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=code_challenge(flow.verifier),
        )
        try:
            url = await self.provider.authorization_url(asked)
        except identity.IdentityError as exc:
            log.warning("OIDC sign-in cannot start: %s", exc)
            return self.ui.sign_in_form(request, status=503, error=str(exc), next=next_path)
        response = RedirectResponse(url, status_code=303, headers=routes.SECURITY_HEADERS)
        _remember(response, seal_flow(state.key, flow))
        return response

    async def callback(self, request: Request) -> Response:
        """Check ``state``, redeem the code, verify the ID token, TokenReview it, sign in."""
        state = routes.context(request).state
        if state is None:
            return self._refused(request, 503, _UNAVAILABLE, "/")
        flow = open_flow(state.key, request.cookies.get(FLOW_COOKIE, ""), now=self.ui.now())
        sent = request.query_params.get("state", "")
        if flow is None or not hmac.compare_digest(sent.encode(), flow.state.encode()):
            return self._refused(request, 400, _EXPIRED, flow.next if flow else "/")
        if "error" in request.query_params or not request.query_params.get("code"):
            error = request.query_params.get("error", "no code")
            shown = error if error.replace("_", "").isalnum() else "an error"
            message = f"{self.provider.display_name} did not sign you in ({shown})."
            return self._refused(request, 401, message, flow.next)
        try:
            signed = await self.provider.redeem(
                code=request.query_params["code"],
                verifier=flow.verifier,
                redirect_uri=self.redirect_uri,
                nonce=flow.nonce,
            )
        except identity.SignInRefused as exc:
            return self._refused(request, 401, f"Sign-in refused: {exc}.", flow.next)
        except identity.ProviderUnavailable as exc:
            return self._refused(request, 503, f"Sign-in failed: {exc}.", flow.next)
        return await self._signed_in(request, signed, flow)

    async def _signed_in(self, request: Request, signed: identity.SignedIn, flow: Flow) -> Response:
        user = await self.ui.deps.authenticator.authenticate(signed.id_token)
        state = routes.context(request).state
        if user is None or state is None:
            message = (
                "The Kubernetes API server did not accept the ID token: it must trust this "
                "provider (--oidc-issuer-url, --oidc-client-id)."
            )
            return self._refused(request, 401, message, flow.next)
        html = self.ui.env.get_template("continue.html").render(next=flow.next, user=user.user)
        response = HTMLResponse(html, headers=routes.SECURITY_HEADERS)
        try:
            session.start(
                response, state, signed.id_token, now=self.ui.now(), expires=signed.expires
            )
        except session.FormError as exc:
            return self._refused(request, 400, str(exc), flow.next)
        _forget(response)
        log.info("Signed in to the UI user=%s method=oidc", user.user)
        return response

    def _refused(self, request: Request, status: int, message: str, next_path: str) -> Response:
        response = self.ui.sign_in_form(request, status=status, error=message, next=next_path)
        _forget(response)
        return response


_UNAVAILABLE: Final = "Sign-in is unavailable right now: the session store cannot be read."
