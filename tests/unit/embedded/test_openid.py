"""The demo OpenID Provider: discovery, keys, the code flow with PKCE S256 and a nonce, ID tokens.

Driven through Starlette's ``TestClient`` as a browser (the authorization form) and as the
Ferryman UI (the token endpoint) would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwk, jwt
from starlette.testclient import TestClient

from ferryman.embedded import openid

ISSUER = "http://localhost:5556"
CALLBACK = "http://127.0.0.1:8080/signin/oidc/callback"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def provider(tmp_path: Path) -> openid.OpenIdProvider:
    return openid.OpenIdProvider(
        openid.ProviderConfig(
            issuer=ISSUER,
            redirect_uris=(CALLBACK,),
            users=(
                openid.DemoUser("alice", ("release-managers",)),
                openid.DemoUser("bob", ("viewers",)),
            ),
            key_path=tmp_path / openid.KEY_FILE,
        )
    )


@pytest.fixture
def client(provider: openid.OpenIdProvider) -> TestClient:
    return TestClient(provider.app, base_url=ISSUER, follow_redirects=False)


def params(verifier: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": openid.CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid profile groups",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }


def sign_in(client: TestClient, verifier: str, user: str = "alice", **extra: str) -> Any:
    query = openid.authorization_query(**params(verifier, **extra))
    return client.post(f"/authorize?{query}", data={"user": user})


def redeem(client: TestClient, code: str, verifier: str, **extra: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": openid.CLIENT_ID,
        "code_verifier": verifier,
        **extra,
    }
    return client.post("/token", data=form)


def test_discovery_names_the_endpoints_and_pkce_s256(client: TestClient) -> None:
    document = client.get("/.well-known/openid-configuration").json()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/keys"
    assert document["code_challenge_methods_supported"] == ["S256"]
    keys = client.get("/keys").json()["keys"]
    assert len(keys) == 1 and "d" not in keys[0]  # public only


def test_the_form_offers_the_demo_users(client: TestClient) -> None:
    verifier = secrets.token_urlsafe(48)
    query = openid.authorization_query(**params(verifier))
    page = client.get(f"/authorize?{query}")
    assert page.status_code == 200
    assert "Sign in as alice (release-managers)" in page.text
    assert "form-action 'self' http://127.0.0.1:8080" in page.headers["content-security-policy"]


def test_the_code_flow_issues_an_id_token_with_name_groups_and_nonce(
    client: TestClient, provider: openid.OpenIdProvider
) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = sign_in(client, verifier)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    token = redeem(client, query["code"][0], verifier)
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"]
    key = jwk.RSAKey.import_key(client.get("/keys").json()["keys"][0])
    claims = jwt.decode(id_token, key, algorithms=["RS256"]).claims
    assert claims["iss"] == ISSUER and claims["aud"] == [openid.CLIENT_ID]
    assert (claims["sub"], claims["preferred_username"]) == ("alice", "alice")
    assert claims["groups"] == ["release-managers"] and claims["nonce"] == "n-1"
    assert claims["exp"] - claims["iat"] == openid.TOKEN_SECONDS
    again = redeem(client, query["code"][0], verifier)
    assert again.status_code == 400  # a code is good once
    assert provider.server.codes == {}


def test_a_wrong_verifier_gets_no_token(client: TestClient) -> None:
    verifier = secrets.token_urlsafe(48)
    code = parse_qs(urlsplit(sign_in(client, verifier).headers["location"]).query)["code"][0]
    refused = redeem(client, code, secrets.token_urlsafe(48))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": "", "code_challenge_method": ""},
        {"nonce": ""},
    ],
    ids=["plain PKCE", "no PKCE", "no nonce"],
)
def test_requests_without_s256_pkce_or_a_nonce_are_sent_back_refused(
    client: TestClient, extra: dict[str, str]
) -> None:
    answer = sign_in(client, secrets.token_urlsafe(48), **extra)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


def test_an_unregistered_redirect_uri_is_never_redirected_to(client: TestClient) -> None:
    """The exact registered URI only; anything else gets a page, not a redirect."""
    for uri in ("https://evil.example/cb", CALLBACK + "/", CALLBACK + "?x=1"):
        answer = sign_in(client, secrets.token_urlsafe(48), redirect_uri=uri)
        assert answer.status_code == 400 and "location" not in answer.headers


def test_cancel_and_unknown_users_do_not_sign_in(client: TestClient) -> None:
    verifier = secrets.token_urlsafe(48)
    query = openid.authorization_query(**params(verifier))
    denied = client.post(f"/authorize?{query}", data={"action": "deny"})
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]
    assert sign_in(client, verifier, user="mallory").status_code == 400


def test_the_signing_key_is_kept_private_and_across_restarts(
    provider: openid.OpenIdProvider, tmp_path: Path
) -> None:
    path = tmp_path / openid.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = openid.signing_key(path)
    assert again.kid == provider.server.key.kid
    assert json.loads(path.read_text())["kty"] == "RSA"
