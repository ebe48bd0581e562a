"""Port to an OpenID Provider: the web UI's "Sign in with …" (authorization code flow with PKCE).

The UI never trusts a provider's word alone: the adapter verifies the ID token (signature from
the provider's published keys, issuer, audience, expiry, the nonce of this sign-in) before it
returns it, and the UI then asks the Kubernetes API server, by TokenReview, who the token names —
exactly as for a pasted token. The ID token becomes the session's bearer token (as Headlamp and
Weave GitOps use it), so the API server must accept the same issuer and client ID
(``--oidc-issuer-url``, ``--oidc-client-id``).

Errors, one hierarchy::

    IdentityError
    ├── SignInRefused         the provider or the ID token says no (a spent code, a wrong nonce,
    │                         an expired or foreign token): the user may simply try again
    └── ProviderUnavailable   the provider cannot be reached or answered 5xx: try again later

Messages name what failed, never a code, verifier or token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class IdentityError(Exception):
    """Signing in through the provider failed; the message says why in one sentence."""


class SignInRefused(IdentityError):
    """The provider refused, or what it returned does not verify."""


class ProviderUnavailable(IdentityError):
    """The provider could not be asked (network, timeout, 5xx, unreadable discovery)."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the browser carries to the provider's authorization endpoint."""

    redirect_uri: str  # exactly as registered with the provider
    state: str  # ties the answer to this browser's sign-in (kept in a sealed cookie)
    nonce: str  # ties the ID token to this sign-in
    code_challenge: str  # PKCE: BASE64URL(SHA256(verifier)), method S256


@dataclass(frozen=True)
class SignedIn:
    """A verified ID token and what the UI needs of it; ``repr`` never shows the token."""

    id_token: str = field(repr=False)
    subject: str
    expires: int  # Unix seconds: the ID token's ``exp``


class OpenIdProvider(Protocol):
    """One OpenID Provider and this deployment's client registration at it."""

    display_name: str  # shown on the button: "Sign in with <display_name>"

    async def authorization_url(self, request: AuthorizationRequest) -> str:
        """The URL to send the browser to (``ProviderUnavailable`` without discovery)."""
        ...

    async def redeem(self, *, code: str, verifier: str, redirect_uri: str, nonce: str) -> SignedIn:
        """Exchange ``code`` (with the PKCE ``verifier``) for an ID token and verify it: the
        provider's signature, ``iss``, ``aud``, ``exp``/``iat``, and ``nonce`` equal to this
        sign-in's. Raises ``SignInRefused`` or ``ProviderUnavailable``."""
        ...
