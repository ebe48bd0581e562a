"""The embedded API server's ``--oidc-*`` authenticator: flags, ID token checks, key refresh.

Keys are generated here; the issuer's discovery document and key set are served by a fake
``fetch`` that counts its calls, so the tests see exactly when the server goes to the issuer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwk, jwt

from ferryman.embedded.apiserver import auth, oidc

ISSUER = "https://idp.example.com"
CLIENT = "ferryman"
NOW = 1_800_000_000


class Issuer:
    """An OpenID issuer: keys, discovery and JWKS served through ``fetch``."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.keys = [jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.fetches: list[str] = []
        self.discovery_issuer = issuer

    def fetch(self, url: str) -> bytes:
        self.fetches.append(url)
        if url == f"{self.issuer}/.well-known/openid-configuration":
            document = {"issuer": self.discovery_issuer, "jwks_uri": f"{self.issuer}/keys"}
            return json.dumps(document).encode()
        if url == f"{self.issuer}/keys":
            keys = [key.as_dict(private=False) for key in self.keys]
            return json.dumps({"keys": keys}).encode()
        raise oidc.FetchError(f"GET {url} answered 404")

    def token(self, key: Any = None, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        signer = key or self.keys[0]
        body = {"iss": self.issuer, "aud": CLIENT, "sub": "alice", "exp": NOW + 600, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        head = header or {"alg": "RS256", "kid": signer.kid}
        return jwt.encode(head, body, signer)


def authenticator(issuer: Issuer, **options: Any) -> oidc.Authenticator:
    clock = options.pop("clock", lambda: NOW)
    chosen = oidc.Options(issuer_url=issuer.issuer, client_id=CLIENT, **options)
    return oidc.Authenticator(chosen, fetch=issuer.fetch, clock=clock)


async def test_a_valid_id_token_names_its_user_with_kube_apiserver_s_default_prefix() -> None:
    """sub "alice" of issuer https://idp.example.com is user "https://idp.example.com#alice"."""
    issuer = Issuer()
    user = await authenticator(issuer)(issuer.token())
    assert user == auth.User(f"{ISSUER}#alice", "", ())


async def test_claims_and_prefixes_map_as_the_flags_say() -> None:
    """--oidc-username-claim/-prefix and --oidc-groups-claim/-prefix."""
    issuer = Issuer()
    check = authenticator(
        issuer,
        username_claim="preferred_username",
        username_prefix="oidc:",
        groups_claim="groups",
        groups_prefix="oidc:",
    )
    user = await check(issuer.token(preferred_username="al", groups=["release-managers"]))
    assert user == auth.User("oidc:al", "", ("oidc:release-managers",))
    single = await check(issuer.token(preferred_username="al", groups="viewers"))
    assert single is not None and single.groups == ("oidc:viewers",)


async def test_the_token_table_chain_adds_system_authenticated() -> None:
    """Through the token table (as requests and TokenReview see it)."""
    issuer = Issuer()
    table = auth.TokenTable()
    table.chain.append(authenticator(issuer, username_prefix="-"))
    user = await table.lookup(issuer.token())
    assert user is not None and (user.name, user.groups) == ("alice", (auth.AUTHENTICATED,))
    assert await table.lookup("not-a-token") is None


@pytest.mark.parametrize(
    ("claim", "prefix", "expected"),
    [
        ("sub", None, f"{ISSUER}#"),
        ("sub", "", f"{ISSUER}#"),
        ("email", None, ""),
        ("preferred_username", None, f"{ISSUER}#"),
        ("sub", "-", ""),
        ("email", "-", ""),
        ("sub", "oidc:", "oidc:"),
    ],
)
def test_username_prefix_defaults_as_kube_apiserver(
    claim: str, prefix: str | None, expected: str
) -> None:
    """Not given: the issuer URL and '#' unless the claim is email; '-': none."""
    options = oidc.Options(ISSUER, CLIENT, username_claim=claim, username_prefix=prefix)
    assert options.effective_username_prefix() == expected


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": NOW - 1}, "expired"),
        ({"exp": None}, "no exp"),
        ({"aud": "someone-else"}, "foreign audience"),
        ({"aud": ["someone-else", "other"]}, "foreign audiences"),
        ({"nbf": NOW + 3600}, "not valid yet"),
        ({"sub": ""}, "empty user name"),
        ({"sub": 42}, "user name not a string"),
    ],
)
async def test_tokens_that_do_not_verify_sign_nobody_in(claims: dict[str, Any], why: str) -> None:
    """Expired, for another audience, not yet valid, or naming no user."""
    issuer = Issuer()
    assert await authenticator(issuer)(issuer.token(**claims)) is None, why


async def test_a_token_naming_several_audiences_with_ours_is_accepted() -> None:
    issuer = Issuer()
    assert await authenticator(issuer)(issuer.token(aud=["other", CLIENT])) is not None


async def test_a_token_of_another_issuer_is_left_to_the_next_authenticator() -> None:
    """Another iss is not ours: no fetch at all, None (the chain goes on)."""
    issuer, other = Issuer(), Issuer("https://other.example.com")
    check = authenticator(issuer)
    assert await check(other.token()) is None
    assert await check(issuer.token(iss="https://idp.example.com/")) is None
    assert issuer.fetches == []


async def test_signatures_must_be_the_issuer_s_and_an_allowed_algorithm() -> None:
    """A foreign key under a known kid, alg none and HS256 (a symmetric key) are refused."""
    issuer = Issuer()
    check = authenticator(issuer)
    assert await check(issuer.token()) is not None
    impostor = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert await check(issuer.token(impostor)) is None
    secret = jwk.OctKey.generate_key(256, parameters={"kid": "k1"})
    forged = jwt.encode({"alg": "HS256", "kid": "k1"}, {"iss": ISSUER, "aud": CLIENT}, secret)
    assert await check(forged) is None
    unsigned = issuer.token().rsplit(".", 1)[0].split(".")
    header = jwt.encode({"alg": "RS256"}, {}, issuer.keys[0]).split(".")[0]
    assert await check(f"{header}.{unsigned[1]}.") is None
    assert await check("a.b.c") is None


async def test_an_unknown_kid_fetches_the_key_set_again_once_per_interval() -> None:
    """Key rotation works; a flood of unknown kids costs one fetch per interval."""
    issuer = Issuer()
    now = [float(NOW)]
    check = authenticator(issuer, clock=lambda: now[0])
    assert await check(issuer.token()) is not None
    assert len(issuer.fetches) == 2  # discovery, then the key set
    rotated = jwk.RSAKey.generate_key(2048, parameters={"kid": "k2"})
    now[0] += oidc.REFRESH_INTERVAL + 1
    issuer.keys.append(rotated)
    assert await check(issuer.token(rotated)) is not None
    assert len(issuer.fetches) == 3  # only the key set again
    stranger = jwk.RSAKey.generate_key(2048, parameters={"kid": "k3"})
    for _ in range(5):
        assert await check(issuer.token(stranger)) is None
    assert len(issuer.fetches) == 3  # within the interval: no new fetch
    now[0] += oidc.REFRESH_INTERVAL + 1
    assert await check(issuer.token(stranger)) is None
    assert len(issuer.fetches) == 4


async def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    issuer = Issuer()
    issuer.discovery_issuer = "https://evil.example.com"
    assert await authenticator(issuer)(issuer.token()) is None


async def test_an_unverified_email_is_refused_when_email_is_the_user_name() -> None:
    """With --oidc-username-claim=email, email_verified must be true when present."""
    issuer = Issuer()
    check = authenticator(issuer, username_claim="email")
    assert await check(issuer.token(email="a@example.com", email_verified=False)) is None
    user = await check(issuer.token(email="a@example.com", email_verified=True))
    assert user is not None and user.name == "a@example.com"
    assert await check(issuer.token(email="a@example.com")) is not None


@pytest.mark.parametrize(
    ("claims", "options"),
    [
        ({"groups": [1, 2]}, {"groups_claim": "groups"}),
        ({"groups": ["system:masters"]}, {"groups_claim": "groups"}),
        ({"sub": "system:admin"}, {"username_prefix": "-"}),
    ],
    ids=["groups not strings", "system group", "system user"],
)
async def test_malformed_and_reserved_identities_are_refused(
    claims: dict[str, Any], options: dict[str, Any]
) -> None:
    issuer = Issuer()
    assert await authenticator(issuer, **options)(issuer.token(**claims)) is None


async def test_an_unreachable_issuer_signs_nobody_in() -> None:
    issuer = Issuer()

    def down(url: str) -> bytes:
        raise oidc.FetchError(f"GET {url} failed: connection refused")

    check = oidc.Authenticator(oidc.Options(ISSUER, CLIENT), fetch=down, clock=lambda: NOW)
    assert await check(issuer.token()) is None


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"client_id": ""}, "must be specified together"),
        ({"issuer_url": ""}, "must be specified together"),
        ({"issuer_url": "http://idp.example.com"}, "must be https"),
        ({"issuer_url": "https://user:pw@idp.example.com"}, "username or password"),
        ({"issuer_url": "https://idp.example.com?x=1"}, "query"),
        ({"issuer_url": "https://idp.example.com#x"}, "fragment"),
        ({"issuer_url": oidc.SERVICE_ACCOUNT_ISSUER}, "service-account issuer"),
        ({"signing_algs": ("HS256",)}, "unsupported signing alg"),
        ({"username_claim": ""}, "username-claim"),
        ({"ca_file": Path("/nonexistent/ca.pem")}, "--oidc-ca-file"),
    ],
)
def test_flags_kube_apiserver_refuses_are_refused(options: dict[str, Any], problem: str) -> None:
    chosen = oidc.Options(**{"issuer_url": ISSUER, "client_id": CLIENT, **options})
    assert any(problem in text for text in oidc.problems(chosen)), oidc.problems(chosen)


@pytest.mark.parametrize(
    "url", ["https://idp.example.com", "http://127.0.0.1:5556", "http://localhost:5556/dex"]
)
def test_https_and_loopback_http_issuers_are_accepted(url: str) -> None:
    assert oidc.problems(oidc.Options(url, CLIENT)) == []
