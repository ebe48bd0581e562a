"""Signing in through an OpenID Provider, and sign-in returning to the page it came from.

The UI over fakes (``tests.fakes.identity.FakeProvider`` for the provider) through Starlette's
``TestClient`` on ``https://``; the browser's part (following the provider's redirect) is played
by hand, so every hop's cookies and answers can be checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.fakes import auth as fakes_auth
from tests.fakes import clock as fake_clock
from tests.fakes import identity as fake_identity
from tests.fakes import kubernetes as fakes
from tests.fakes import sessions as fakes_sessions
from tests.unit.server.ui.test_ui import GRANTS, NOW, PAGE, TOKENS, pipeline_object

from ferryman.server.deps import Deps, Options
from ferryman.server.ui import next_page, oidc, routes, sealing, session

CALLBACK = "https://ferryman.test/signin/oidc/callback"
ID_TOKENS = {"alice": "id-token-of-alice", "mallory": "id-token-nobody-accepts"}


class World:
    """The UI with an OpenID Provider (or without one, ``provider=None``)."""

    def __init__(self, *, with_provider: bool = True) -> None:
        self.api = fakes.FakeKubernetes()
        self.api.put(pipeline_object())
        self.provider = fake_identity.FakeProvider(tokens=dict(ID_TOKENS))
        self.sessions = fakes_sessions.FakeSessions()
        tokens = {**TOKENS, ID_TOKENS["alice"]: TOKENS["alice-token"]}
        self.deps = Deps(
            store=self.api.store,
            cluster=self.api,
            secrets=fakes_auth.FakeSecrets({}),
            events=self.api,
            authenticator=fakes_auth.FakeAuthenticator(tokens),
            reviewer=fakes_auth.FakeAccessReviewer(GRANTS),
            trigger=fakes_auth.FakeTrigger(),
            clock=fake_clock.FakeClock(NOW),
            sessions=self.sessions,
            options=Options(oidc_redirect_url=CALLBACK),
            identity=self.provider if with_provider else None,
        )
        self.client = TestClient(
            Starlette(routes=routes.ui_routes(self.deps)),
            base_url="https://ferryman.test",
            follow_redirects=False,
        )

    def start(self, next_path: str = PAGE) -> str:
        """Click "Sign in with …" on the sign-in page of ``next_path``; the provider's URL."""
        page = self.client.get(next_page.sign_in_url(next_path))
        link = re.search(r'id="oidc-sign-in" href="([^"]+)"', page.text)
        assert link is not None, page.text
        answer = self.client.get(link.group(1).replace("&amp;", "&"))
        assert answer.status_code == 303, answer.text
        return str(answer.headers["location"])

    def back_from_provider(self, user: str = "alice", **override: str) -> object:
        """The provider sends the browser back with a code for ``user`` and the state."""
        state = self.provider.asked[-1].state
        query = {"code": self.provider.approve(user), "state": state, **override}
        return self.client.get("/signin/oidc/callback", params=query)


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    with w.client:
        yield w


def cookie_header(answer: object, name: str) -> str:
    headers = answer.headers.multi_items()  # type: ignore[attr-defined]
    return next(v for k, v in headers if k == "set-cookie" and v.startswith(f"{name}="))


def test_a_signed_out_page_sends_the_browser_to_sign_in_with_the_way_back(world: World) -> None:
    answer = world.client.get(f"{PAGE}?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/signin?next={PAGE}%3Fx%3D1"
    assert world.client.get("/").headers["location"] == "/signin"


def test_the_sign_in_page_offers_the_provider_only_when_configured() -> None:
    with World().client as client:
        assert "Sign in with Example SSO" in client.get("/signin").text
    bare = World(with_provider=False)
    with bare.client as client:
        page = client.get("/signin").text
        assert "Sign in with" not in page and 'name="token"' in page
        assert client.get("/signin/oidc").status_code == 404


def test_token_sign_in_returns_to_the_page_it_came_from(world: World) -> None:
    page = world.client.get(next_page.sign_in_url(PAGE)).text
    assert f'name="next" value="{PAGE}"' in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    answer = world.client.post(
        "/signin", data={"token": "alice-token", "csrf": csrf.group(1), "next": PAGE}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, PAGE)
    assert "Signed in as" in world.client.get(PAGE).text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/%0a/evil",
        "javascript:alert(1)",
        "evil.example",
        "/signin?next=//evil.example",
        "/pipelines/default/podinfo\"'><script>",
        "/" + "a" * 3000,
        "",
    ],
)
def test_open_redirects_are_refused_for_both_ways_of_signing_in(world: World, target: str) -> None:
    """next=//evil, https://evil, /\\evil and friends all fall back to /."""
    assert next_page.safe_next(target) in ("/", "/%0a/evil")
    page = world.client.get("/signin", params={"next": target}).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    answer = world.client.post(
        "/signin", data={"token": "alice-token", "csrf": csrf.group(1), "next": target}
    )
    assert answer.headers["location"] in ("/", "/%0a/evil")
    world.client.cookies.clear()
    provider_url = world.start(target)
    assert provider_url.startswith(fake_identity.AUTHORIZE)
    landed = world.back_from_provider()
    refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]*)"', landed.text)  # type: ignore[attr-defined]
    assert refresh is not None and refresh.group(1) in ("/", "/%0a/evil")


def test_oidc_sign_in_keeps_its_flow_in_a_sealed_lax_cookie_and_asks_for_pkce(
    world: World,
) -> None:
    url = world.start()
    asked = world.provider.asked[-1]
    assert asked.redirect_uri == CALLBACK
    assert len(asked.code_challenge) == 43  # base64url of a SHA-256
    assert parse_qs(urlsplit(url).query)["state"] == [asked.state]
    flow_cookie = cookie_header(
        world.client.get(
            "/signin/oidc", params={"next": PAGE}
        ),  # a second start replaces the first
        oidc.FLOW_COOKIE,
    )
    parts = {part.strip().lower() for part in flow_cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/signin/oidc", "max-age=600"} <= parts
    value = flow_cookie.split(";")[0].split("=", 1)[1]
    assert world.provider.asked[-1].state not in value and PAGE not in value


def test_oidc_sign_in_lands_on_the_page_it_came_from_with_a_strict_session(
    world: World,
) -> None:
    """The callback verifies, TokenReviews, seals the ID token, and navigates same-site."""
    world.start()
    answer = world.back_from_provider()
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert f'content="0;url={PAGE}"' in answer.text  # type: ignore[attr-defined]
    strict = cookie_header(answer, session.SESSION_COOKIE)
    assert "samesite=strict" in strict.lower()
    assert ID_TOKENS["alice"] not in strict
    cleared = cookie_header(answer, oidc.FLOW_COOKIE)
    assert "max-age=0" in cleared.lower() or "expires=" in cleared.lower()
    redeemed = world.provider.redeemed[-1]
    assert redeemed["redirect_uri"] == CALLBACK
    assert redeemed["nonce"] == world.provider.asked[-1].nonce
    page = world.client.get(PAGE)
    assert page.status_code == 200 and "Signed in as <strong>alice</strong>" in page.text


def test_the_session_ends_when_the_id_token_expires(world: World) -> None:
    world.provider.expires = int(NOW.timestamp()) + 900
    world.start()
    cookie = world.back_from_provider()
    value = cookie_header(cookie, session.SESSION_COOKIE).split(";")[0].split("=", 1)[1]
    opened = sealing.open_sealed(world.sessions.state.key, value, now=int(NOW.timestamp()))
    assert opened is not None and opened.expires == int(NOW.timestamp()) + 900


@pytest.mark.parametrize(
    ("how", "status", "message"),
    [
        ("wrong state", 400, "expired or was started in another"),
        ("no flow cookie", 400, "expired or was started in another"),
        ("provider error", 401, "did not sign you in (access_denied)"),
        ("code refused", 401, "invalid_grant"),
        ("provider down", 503, "HTTP 503"),
        ("token not accepted by the API server", 401, "did not accept the ID token"),
    ],
)
def test_a_callback_that_cannot_be_trusted_signs_nobody_in(
    world: World, how: str, status: int, message: str
) -> None:
    world.start()
    if how == "wrong state":
        answer = world.back_from_provider(state="forged")
    elif how == "no flow cookie":
        world.client.cookies.delete(oidc.FLOW_COOKIE, domain="ferryman.test", path="/signin/oidc")
        answer = world.back_from_provider()
    elif how == "provider error":
        answer = world.client.get(
            "/signin/oidc/callback",
            params={"error": "access_denied", "state": world.provider.asked[-1].state},
        )
    elif how == "code refused":
        world.provider.refuse = True
        answer = world.back_from_provider()
    elif how == "provider down":
        world.provider.unavailable = True
        answer = world.back_from_provider()
    else:
        answer = world.back_from_provider(user="mallory")
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert message in answer.text  # type: ignore[attr-defined]
    assert session.SESSION_COOKIE not in world.client.cookies
    assert world.client.get(PAGE).status_code == 303


def test_a_replayed_callback_signs_nobody_in(world: World) -> None:
    """The flow cookie is spent at the first callback: the same answer twice fails."""
    world.start()
    code = world.provider.approve("alice")
    query = {"code": code, "state": world.provider.asked[-1].state}
    first = world.client.get("/signin/oidc/callback", params=query)
    assert first.status_code == 200
    world.client.cookies.delete(session.SESSION_COOKIE, domain="ferryman.test")
    again = world.client.get("/signin/oidc/callback", params=query)
    assert again.status_code == 400


def test_an_unreachable_provider_is_said_on_the_sign_in_page(world: World) -> None:
    world.provider.unavailable = True
    answer = world.client.get("/signin/oidc", params={"next": PAGE})
    assert answer.status_code == 503 and "cannot be reached" in answer.text
    assert f'name="next" value="{PAGE}"' in answer.text
