"""An in-memory ``ports.identity.OpenIdProvider``: it hands out one code per authorization
request and redeems it (once) for an ID token only with the verifier matching the challenge.

No module globals: each test builds its own, and may make it refuse or be unavailable.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ferryman.ports import identity

AUTHORIZE = "https://idp.example.com/authorize"


@dataclass
class FakeProvider:
    """``OpenIdProvider`` whose ID tokens are ``tokens[user]``."""

    display_name: str = "Example SSO"
    tokens: dict[str, str] = field(default_factory=dict)
    expires: int = 2_000_000_000
    refuse: bool = False
    unavailable: bool = False
    asked: list[identity.AuthorizationRequest] = field(default_factory=list)
    codes: dict[str, tuple[str, identity.AuthorizationRequest]] = field(default_factory=dict)
    redeemed: list[dict[str, str]] = field(default_factory=list)

    async def authorization_url(self, request: identity.AuthorizationRequest) -> str:
        if self.unavailable:
            raise identity.ProviderUnavailable("the provider cannot be reached")
        self.asked.append(request)
        return f"{AUTHORIZE}?{urlencode({'state': request.state, 'nonce': request.nonce})}"

    def approve(self, user: str) -> str:
        """The user signs in at the provider: the code it sends back with the last request."""
        code = f"code-{len(self.codes)}"
        self.codes[code] = (user, self.asked[-1])
        return code

    async def redeem(
        self, *, code: str, verifier: str, redirect_uri: str, nonce: str
    ) -> identity.SignedIn:
        self.redeemed.append({"code": code, "redirect_uri": redirect_uri, "nonce": nonce})
        if self.unavailable:
            raise identity.ProviderUnavailable("the provider answered HTTP 503")
        found = self.codes.pop(code, None)
        if self.refuse or found is None:
            raise identity.SignInRefused("the provider refused the sign-in (invalid_grant)")
        user, asked = found
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != asked.code_challenge:
            raise identity.SignInRefused("the provider refused the sign-in (invalid_grant)")
        if nonce != asked.nonce or redirect_uri != asked.redirect_uri:
            raise identity.SignInRefused("the ID token is not for this sign-in (nonce)")
        return identity.SignedIn(id_token=self.tokens[user], subject=user, expires=self.expires)
