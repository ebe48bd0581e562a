"""The UI's OpenID Connect adapter: requests it builds and the ID token checks it makes.

The provider is an ``httpx.MockTransport`` with a key generated here: its discovery document,
key set and token endpoint, whose ID token each test shapes.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwk, jwt

from ferryman.adapters import oidc
from ferryman.ports import identity

ISSUER = "https://idp.example.com/realms/ops"
CLIENT = "ferryman"
NOW = 1_800_000_000
NONCE = "nonce-123"
REDIRECT = "https://ferryman.example.com/signin/oidc/callback"


class Provider:
    """A mock OpenID Provider: discovery, keys, and a token endpoint returning ``self.claims``."""

    def __init__(self) -> None:
        self.keys = [jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.signer: Any = self.keys[0]
        self.header: dict[str, Any] | None = None
        self.claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": "alice",
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": NONCE,
        }
        self.requests: list[httpx.Request] = []
        self.token_status = 200
        self.discovery_issuer = ISSUER

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": self.discovery_issuer,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/certs",
                    "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                },
            )
        if path.endswith("/certs"):
            return httpx.Response(
                200, json={"keys": [key.as_dict(private=False) for key in self.keys]}
            )
        if self.token_status != 200:
            return httpx.Response(self.token_status, json={"error": "invalid_grant"})
        header = self.header or {"alg": "RS256", "kid": self.signer.kid}
        token = jwt.encode(header, self.claims, self.signer)
        return httpx.Response(200, json={"access_token": "at", "id_token": token})

    def adapter(self, **options: Any) -> oidc.OpenIdConnect:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return oidc.OpenIdConnect(
            http, issuer=ISSUER, client_id=CLIENT, clock=lambda: NOW, **options
        )

    def token_calls(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/token"))

    def key_fetches(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/certs"))


async def redeem(adapter: oidc.OpenIdConnect, nonce: str = NONCE) -> identity.SignedIn:
    return await adapter.redeem(code="c0de", verifier="v" * 43, redirect_uri=REDIRECT, nonce=nonce)


async def test_a_valid_id_token_is_returned_with_its_subject_and_expiry() -> None:
    provider = Provider()
    signed = await redeem(provider.adapter())
    assert (signed.subject, signed.expires) == ("alice", NOW + 300)
    assert signed.id_token.count(".") == 2 and signed.id_token not in repr(signed)
    token_request = next(r for r in provider.requests if r.url.path.endswith("/token"))
    form = parse_qs(token_request.content.decode())
    assert form["code_verifier"] == ["v" * 43] and form["client_id"] == [CLIENT]
    assert form["redirect_uri"] == [REDIRECT] and "authorization" not in token_request.headers


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": NOW - 1}, "expired"),
        ({"aud": "another-client"}, "another client"),
        ({"aud": ["another-client", "x"]}, "another client"),
        ({"azp": "another-client", "aud": [CLIENT, "x"]}, "azp"),
        ({"iss": "https://evil.example.com"}, "another issuer"),
        ({"nonce": "replayed"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"iat": NOW + 3600}, "iat"),
        ({"nbf": NOW + 3600}, "nbf"),
        ({"sub": ""}, "subject"),
    ],
)
async def test_id_tokens_that_fail_a_check_are_refused(claims: dict[str, Any], reason: str) -> None:
    """Expired, foreign audience, wrong issuer, another sign-in's nonce, from the future."""
    provider = Provider()
    provider.claims.update(claims)
    provider.claims = {k: v for k, v in provider.claims.items() if v is not None}
    with pytest.raises(identity.SignInRefused, match=reason):
        await redeem(provider.adapter())


async def test_a_token_signed_by_an_unknown_key_refetches_the_key_set_once() -> None:
    """Rotation: a new kid fetches the keys again; a stranger's key is refused, no flood."""
    provider = Provider()
    adapter = provider.adapter()
    await redeem(adapter)
    assert provider.key_fetches() == 1
    stranger = jwk.RSAKey.generate_key(2048, parameters={"kid": "k9"})
    provider.signer = stranger
    for _ in range(3):
        with pytest.raises(identity.SignInRefused, match="key set"):
            await redeem(adapter)
    assert provider.key_fetches() == 1  # within REFRESH_INTERVAL of the first fetch


async def test_the_key_set_is_fetched_again_for_a_rotated_key() -> None:
    provider = Provider()
    now = [float(NOW)]
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider.handle))
    adapter = oidc.OpenIdConnect(http, issuer=ISSUER, client_id=CLIENT, clock=lambda: now[0])
    await redeem(adapter)
    rotated = jwk.RSAKey.generate_key(2048, parameters={"kid": "k2"})
    provider.keys.append(rotated)
    provider.signer = rotated
    now[0] += oidc.REFRESH_INTERVAL + 1
    provider.claims["exp"] = now[0] + 300
    assert (await redeem(adapter)).subject == "alice"
    assert provider.key_fetches() == 2


async def test_signatures_by_another_key_hmac_or_none_are_refused() -> None:
    provider = Provider()
    provider.signer = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(identity.SignInRefused, match="signature"):
        await redeem(provider.adapter())
    provider.signer = jwk.OctKey.generate_key(256, parameters={"kid": "k1"})
    provider.header = {"alg": "HS256", "kid": "k1"}
    with pytest.raises(identity.SignInRefused, match="HS256"):
        await redeem(provider.adapter())


async def test_the_provider_refusing_the_code_is_a_refusal_not_an_outage() -> None:
    provider = Provider()
    provider.token_status = 400
    with pytest.raises(identity.SignInRefused, match="invalid_grant"):
        await redeem(provider.adapter())
    provider.token_status = 503
    with pytest.raises(identity.ProviderUnavailable, match="503"):
        await redeem(provider.adapter())


async def test_a_discovery_document_of_another_issuer_is_not_used() -> None:
    provider = Provider()
    provider.discovery_issuer = "https://evil.example.com"
    with pytest.raises(identity.ProviderUnavailable, match="another issuer"):
        await provider.adapter().authorization_url(
            identity.AuthorizationRequest(REDIRECT, "s", "n", "c" * 43)
        )


async def test_an_unreachable_provider_is_unavailable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    adapter = oidc.OpenIdConnect(http, issuer=ISSUER, client_id=CLIENT)
    with pytest.raises(identity.ProviderUnavailable, match="cannot be reached"):
        await redeem(adapter)


async def test_the_authorization_url_carries_pkce_s256_state_nonce_and_scopes() -> None:
    provider = Provider()
    url = await provider.adapter(scopes=("openid", "groups")).authorization_url(
        identity.AuthorizationRequest(REDIRECT, "st", "nn", "ch" * 22)
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/auth"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid groups",
        "state": "st",
        "nonce": "nn",
        "code_challenge": "ch" * 22,
        "code_challenge_method": "S256",
    }


def test_a_confidential_client_authenticates_with_basic_and_keeps_the_secret_out_of_the_form() -> (
    None
):
    request = oidc.token_request(
        f"{ISSUER}/token",
        client_id="ferry man",
        client_secret="s3cr:t",
        code="c",
        verifier="v",
        redirect_uri=REDIRECT,
    )
    scheme, _, value = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "ferry+man:s3cr%3At"
    assert b"s3cr" not in request.content
    assert json.dumps(parse_qs(request.content.decode()))  # a plain form
