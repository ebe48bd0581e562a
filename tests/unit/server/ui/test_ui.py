"""The web UI over in-memory fakes: sign-in, CSRF, permissions shown, approvals, escaping.

Requests go through Starlette's ``TestClient`` on ``https://`` (the cookies are ``Secure``).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.fakes import auth as fakes_auth
from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes
from tests.fakes import sessions as fakes_sessions

from ferryman.ports import auth
from ferryman.server.deps import Deps
from ferryman.server.ui import routes, session, views

EVIL = '<script>alert("x")</script>'
TOKENS = {
    "alice-token": auth.Identity("alice", "u1", ("release-managers", "system:authenticated")),
    "bob-token": auth.Identity("bob", "u2", ("viewers", "system:authenticated")),
}
GRANTS = [
    fakes_auth.Grant(
        "group:release-managers",
        ("approve", "reject", "get", "list", "hold", "promote", "verify"),
    ),
    fakes_auth.Grant("group:viewers", ("get", "list")),
]
PAGE = "/pipelines/default/podinfo"
DECIDE = f"{PAGE}/environments/prod/decide"
OPERATE = f"{PAGE}/environments/prod/operate"
NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def target(env: str, revision: str, *, error: str = "") -> dict[str, Any]:
    ref = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "podinfo"}
    return {
        "clusterAppRef": {**ref, "namespace": env},
        "ready": not error,
        "revision": revision,
        "error": error,
    }


def pipeline_object(*, revision: str = "6.2.0", error: str = "") -> dict[str, Any]:
    """A pipeline whose prod waits for approval of ``revision``."""
    at = "2026-11-28T16:00:00Z"
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "podinfo", "namespace": "default", "uid": "uid-1", "generation": 1},
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "name": "podinfo",
            },
            "promotion": {"strategy": {"notification": {}}},
            "environments": [
                {"name": "staging", "targets": [{"namespace": "staging"}]},
                {
                    "name": "prod",
                    "targets": [{"namespace": "prod"}],
                    "promotion": {
                        "approval": {"required": 1, "approvers": {"groups": ["release-managers"]}}
                    },
                },
            ],
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ReconciliationSucceeded",
                    "message": f"checked {error}",
                    "lastTransitionTime": at,
                },
                {
                    "type": "PromotionPending",
                    "status": "True",
                    "reason": "WaitingApproval",
                    "message": f"prod: waiting for 1 more approval of {revision}",
                    "lastTransitionTime": at,
                },
            ],
            "environments": {
                "staging": {
                    "targets": [target("staging", revision, error=error)],
                    "revision": revision,
                    "ready": not error,
                },
                "prod": {
                    "targets": [target("prod", "6.1.0")],
                    "revision": "6.1.0",
                    "ready": True,
                    "waitingApproval": {"revision": revision},
                    "promotion": {
                        "revision": revision,
                        "from": "staging",
                        "phase": "WaitingApproval",
                        "requestedAt": at,
                        "result": {"url": "javascript:alert(1)"},
                        "change": {
                            "digest": "c0ffee" + "0" * 58,
                            "markers": 1,
                            "lines": [
                                {"path": "prod/podinfo.yaml", "old": "6.1.0", "new": revision}
                            ],
                        },
                    },
                },
            },
            "history": [
                {
                    "environment": "staging",
                    "revision": revision,
                    "phase": "Succeeded",
                    "at": at,
                    "by": EVIL,
                    "url": "https://git.example.com/pr/1",
                }
            ],
        },
    }


class World:
    """Fakes behind the UI's routes."""

    def __init__(
        self, obj: dict[str, Any], *, sessions: fakes_sessions.FakeSessions | None = None
    ) -> None:
        self.api = fakes.FakeKubernetes()
        self.api.put(obj)
        self.sessions = sessions or fakes_sessions.FakeSessions()
        self.deps = Deps(
            store=self.api.store,
            cluster=self.api,
            secrets=fakes_auth.FakeSecrets({}),
            events=self.api,
            authenticator=fakes_auth.FakeAuthenticator(TOKENS),
            reviewer=fakes_auth.FakeAccessReviewer(GRANTS),
            trigger=fakes_auth.FakeTrigger(),
            clock=fake_clock.FakeClock(NOW),
            sessions=self.sessions,
        )
        self.client = TestClient(
            Starlette(routes=routes.ui_routes(self.deps)),
            base_url="https://ferryman.test",
            follow_redirects=False,
        )

    def csrf(self) -> str:
        """The token of the sign-in form (the pre-sign-in one, or the session's when signed in)."""
        return self.form_token("/signin")

    def set_session(self, value: str) -> None:
        """Put ``value`` into the browser's session cookie (a copied or forged one)."""
        self.client.cookies.set(session.SESSION_COOKIE, value, domain="ferryman.test")

    def sign_in(self, token: str) -> None:
        answer = self.client.post("/signin", data={"token": token, "csrf": self.csrf()})
        assert answer.status_code == 303, answer.text

    def form_token(self, path: str = PAGE) -> str:
        """The CSRF token the page's forms carry (bound to the signed-in session)."""
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def prod(self) -> dict[str, Any]:
        obj = self.api.objects[("pipelines.weave.works/v1alpha1", "Pipeline", "default", "podinfo")]
        prod: dict[str, Any] = obj["status"]["environments"]["prod"]["promotion"]
        return prod


@pytest.fixture
def world() -> Iterator[World]:
    w = World(pipeline_object())
    with w.client:
        yield w


@pytest.mark.parametrize(("path", "sign_in"), [("/", "/signin"), (PAGE, f"/signin?next={PAGE}")])
def test_pages_without_a_session_redirect_to_sign_in(world: World, path: str, sign_in: str) -> None:
    """No token: every page sends the browser to /signin, which will return to the page."""
    answer = world.client.get(path)
    assert (answer.status_code, answer.headers["location"]) == (303, sign_in)


def test_fragments_without_a_session_answer_401(world: World) -> None:
    """The live-update fragments answer 401 (the script then goes to /signin)."""
    assert world.client.get(f"/fragments{PAGE}").status_code == 401
    assert world.client.get("/fragments/pipelines").status_code == 401


def test_sign_in_sets_a_strict_secure_http_only_cookie(world: World) -> None:
    """The bearer token is kept only in a Secure, HttpOnly, SameSite=Strict cookie."""
    answer = world.client.post("/signin", data={"token": "alice-token", "csrf": world.csrf()})
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert {"Secure", "HttpOnly", "SameSite=strict"} <= {p.strip() for p in cookie.split(";")}


def test_wrong_token_is_refused_with_a_sentence(world: World) -> None:
    """A token the API server does not accept signs nobody in."""
    answer = world.client.post("/signin", data={"token": "nope", "csrf": world.csrf()})
    assert answer.status_code == 401
    assert "did not accept this token" in answer.text
    assert session.SESSION_COOKIE not in world.client.cookies


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/signin", {"token": "alice-token"}),
        (DECIDE, {"action": "approve", "revision": "6.2.0"}),
        ("/signout", {}),
    ],
    ids=["sign-in", "approve", "sign-out"],
)
def test_forms_without_csrf_token_are_rejected(
    world: World, path: str, data: dict[str, str]
) -> None:
    """A form without the CSRF token (or with a wrong one) is refused and changes nothing."""
    world.sign_in("alice-token")
    for fields in (data, {**data, "csrf": "0" * 64}):
        answer = world.client.post(path, data=fields)
        assert answer.status_code == 403
        assert "security token" in answer.text
    assert world.prod()["phase"] == "WaitingApproval"
    assert world.client.get("/").status_code == 200  # still signed in


def test_cross_site_origin_is_rejected(world: World) -> None:
    """A form posted from another origin is refused even with the right token."""
    world.sign_in("alice-token")
    csrf = world.form_token()
    answer = world.client.post(
        DECIDE,
        data={"action": "approve", "revision": "6.2.0", "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert world.prod()["phase"] == "WaitingApproval"


def test_every_value_from_spec_and_status_is_escaped() -> None:
    """Script in status strings is printed as text; a javascript: link is not linked."""
    w = World(pipeline_object(revision=EVIL, error=EVIL))
    with w.client:
        w.sign_in("alice-token")
        for path in ("/", PAGE, f"/fragments{PAGE}", "/fragments/pipelines"):
            html = w.client.get(path).text
            assert "<script>alert" not in html, path
            assert "javascript:" not in html, path
        page = w.client.get(PAGE).text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts == ['<script src="/static/live.js" defer>']


def test_viewer_sees_why_they_may_not_approve_and_is_refused(world: World) -> None:
    """bob sees no Approve button but the reason; posting anyway answers 403 with it."""
    world.sign_in("bob-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert "Approve 6.2.0" not in page
    assert 'user "bob" may not approve' in page
    csrf = world.form_token()
    answer = world.client.post(
        DECIDE, data={"action": "approve", "revision": "6.2.0", "csrf": csrf}
    )
    assert answer.status_code == 403
    assert 'user "bob" may not approve' in html.unescape(answer.text)
    assert world.prod()["phase"] == "WaitingApproval"


def test_approver_approves_with_a_comment(world: World) -> None:
    """alice's approval goes through the approval API's write path and is shown."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    assert "Approve 6.2.0" in page
    csrf = world.form_token()
    answer = world.client.post(
        DECIDE,
        data={"action": "approve", "revision": "6.2.0", "comment": "ship it", "csrf": csrf},
    )
    back = f"{PAGE}?done=approve&environment=prod&revision=6.2.0"
    assert (answer.status_code, answer.headers["location"]) == (303, back)
    assert "You approved 6.2.0 into prod." in world.client.get(back).text
    record = world.prod()
    assert record["phase"] == "WaitingApproval"  # the controller, not the UI, moves it on
    assert [(a["user"], a["comment"]) for a in record["approvals"]] == [("alice", "ship it")]
    assert "ship it" in world.client.get(PAGE).text


def test_item10_comment_over_280_characters_is_refused_on_the_page(world: World) -> None:
    """The form refuses a comment longer than status keeps (422 naming 280), never cuts it."""
    world.sign_in("alice-token")
    csrf = world.form_token()
    answer = world.client.post(
        DECIDE,
        data={"action": "approve", "revision": "6.2.0", "comment": "y" * 281, "csrf": csrf},
    )
    assert answer.status_code == 422
    assert "at most 280 characters" in answer.text
    assert world.prod().get("approvals", []) == []
    assert 'maxlength="280"' in world.client.get(PAGE).text


def test_stale_revision_shows_the_conflict(world: World) -> None:
    """Approving a revision that no longer waits answers 409 with the API's sentence."""
    world.sign_in("alice-token")
    csrf = world.form_token()
    answer = world.client.post(
        DECIDE, data={"action": "approve", "revision": "6.0.0", "csrf": csrf}
    )
    assert answer.status_code == 409
    assert 'role="alert"' in answer.text


def test_security_headers_forbid_inline_script_and_framing(world: World) -> None:
    """Pages carry a CSP without inline script and refuse to be framed."""
    answer = world.client.get("/signin")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_gate_messages_split_per_environment() -> None:
    """PromotionPending's message is shown in the column of the environment it names."""
    found = views.gates_by_environment("prod: waiting for approval; staging: soak 5s left")
    assert found == {"prod": "waiting for approval", "staging": "soak 5s left"}


def test_the_change_to_approve_is_shown_beside_the_approve_button(world: World) -> None:
    """The marked values the promotion sets, and the digest the approval binds to."""
    world.sign_in("alice-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert "The change to approve" in page
    assert (
        "<code>prod/podinfo.yaml</code></td><td><code>6.1.0</code></td><td><code>6.2.0</code>"
        in page
    )
    assert "Change digest <code" in page and "c0ffee000000" in page


def test_an_operator_holds_and_unholds_from_the_page(world: World) -> None:
    """alice sees Hold, holds prod with a reason, sees who holds it, and releases it."""
    world.sign_in("alice-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert "Hold prod" in page
    csrf = world.form_token()
    answer = world.client.post(
        OPERATE, data={"action": "hold", "comment": "incident 42", "csrf": csrf}
    )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        f"{PAGE}?done=hold&environment=prod",
    )
    page = html.unescape(world.client.get(PAGE).text)
    assert 'held by alice: incident 42<br><span class="words">since <time datetime=' in page
    assert "Unhold prod" in page
    answer = world.client.post(OPERATE, data={"action": "unhold", "csrf": csrf})
    assert answer.status_code == 303
    assert "Hold prod" in html.unescape(world.client.get(PAGE).text)


def test_a_viewer_sees_why_they_may_not_operate_and_is_refused(world: World) -> None:
    """bob sees no Hold button but the RBAC sentence; posting anyway answers 403."""
    world.sign_in("bob-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert "Hold prod" not in page
    assert 'You cannot hold or roll back prod: user "bob" may not hold' in page
    csrf = world.form_token()
    answer = world.client.post(OPERATE, data={"action": "hold", "csrf": csrf})
    assert answer.status_code == 403
    assert 'user "bob" may not hold' in html.unescape(answer.text)


def test_promote_from_the_page_offers_what_ran_and_refuses_the_rest(world: World) -> None:
    """The select lists the revisions prod or staging ran; another one is refused in words."""
    world.sign_in("alice-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert '<option value="6.2.0">6.2.0</option>' in page
    assert '<option value="6.1.0">6.1.0</option>' in page
    csrf = world.form_token()
    refused = world.client.post(
        OPERATE, data={"action": "promote", "revision": "9.9.9", "csrf": csrf}
    )
    assert refused.status_code == 422
    assert "accepted: 6.2.0, 6.1.0" in html.unescape(refused.text)
    done = world.client.post(OPERATE, data={"action": "promote", "revision": "6.1.0", "csrf": csrf})
    assert done.status_code == 303
    assert "pinned at 6.1.0 by alice" in html.unescape(world.client.get(PAGE).text)


def session_cookie(world: World) -> str:
    """The raw value of the session cookie the browser holds."""
    return world.client.cookies[session.SESSION_COOKIE]


def test_item8_the_cookie_holds_no_token_and_works_on_another_replica(world: World) -> None:
    """The cookie is sealed (neither the token nor its base64 in it); a second server holding the
    same key (another replica) accepts it."""
    world.sign_in("alice-token")
    cookie = session_cookie(world)
    assert "alice-token" not in cookie
    assert base64.urlsafe_b64encode(b"alice-token").decode().rstrip("=") not in cookie
    other = World(pipeline_object(), sessions=world.sessions)
    with other.client:
        other.set_session(cookie)
        assert other.client.get("/").status_code == 200


def test_item8_sign_out_ends_every_copy_of_the_cookie(world: World) -> None:
    """After sign-out a copied cookie is refused (on this and any replica): the session id is in
    the shared revocation list."""
    world.sign_in("alice-token")
    copied = session_cookie(world)
    answer = world.client.post("/signout", data={"csrf": world.form_token("/")})
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin")
    assert len(world.sessions.state.revoked) == 1
    world.set_session(copied)
    assert world.client.get("/").status_code == 303


def test_item8_csrf_token_is_bound_to_the_session_and_rotated_at_sign_in(world: World) -> None:
    """The pre-sign-in token stops working at sign-in; one session's token is refused with
    another session's cookie."""
    before = world.csrf()
    world.sign_in("alice-token")
    assert world.client.post("/signout", data={"csrf": before}).status_code == 403
    alices = world.form_token()
    world.sign_in("bob-token")
    answer = world.client.post(
        DECIDE, data={"action": "reject", "revision": "6.2.0", "csrf": alices}
    )
    assert answer.status_code == 403
    assert world.client.post("/signout", data={"csrf": world.form_token("/")}).status_code == 303


def test_item8_sessions_expire_after_eight_hours(world: World) -> None:
    """The sealed expiry is checked on every request, whatever the cookie's Max-Age."""
    world.sign_in("alice-token")
    assert world.client.get("/").status_code == 200
    clock = world.deps.clock
    assert isinstance(clock, fake_clock.FakeClock)
    clock.advance(8 * 3600)
    assert world.client.get("/").status_code == 303


def test_item8_forged_or_altered_cookies_sign_nobody_in(world: World) -> None:
    """A cookie holding a raw token, or a sealed one with a byte changed, is no session."""
    world.set_session("alice-token")
    assert world.client.get("/").status_code == 303
    world.sign_in("alice-token")
    sealed = session_cookie(world)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    world.set_session(flipped)
    assert world.client.get("/").status_code == 303


def test_item8_ui_fails_closed_without_the_session_store(world: World) -> None:
    """When the shared session state cannot be read, pages answer 503 and nobody is signed in."""
    world.sign_in("alice-token")
    world.sessions.unavailable = True
    answer = world.client.get("/")
    assert answer.status_code == 503
    assert "cannot be reached" in answer.text


def checked_object() -> dict[str, Any]:
    """The pipeline with a staging webhook check that failed for 6.2.0."""
    obj = pipeline_object()
    obj["spec"]["environments"][0]["verification"] = {
        "checks": [
            {
                "name": "smoke",
                "webhook": {"url": "https://hooks.example.com/v", "secretRef": {"name": "h"}},
            }
        ]
    }
    obj["status"]["environments"]["staging"]["verification"] = {
        "revision": "6.2.0",
        "run": 1,
        "phase": "Failed",
        "checks": [
            {
                "name": "smoke",
                "phase": "Failed",
                "value": "422",
                "message": f"answered 422: {EVIL}",
                "startedAt": "2026-11-28T16:00:00Z",
                "finishedAt": "2026-11-28T16:00:01Z",
            }
        ],
    }
    return obj


def test_checks_show_per_environment_and_may_be_run_again_by_those_allowed() -> None:
    """Each check's phase, value and message (escaped) are in staging's column; alice runs them
    again from the page (run 2), bob sees them but no button and is refused."""
    checked = World(checked_object())
    with checked.client:
        checked.sign_in("bob-token")
        page = checked.client.get(PAGE).text
        assert EVIL not in page and "answered 422: &lt;script&gt;" in page
        staging = html.unescape(page.split('id="env-staging"', 1)[1].split("</section>", 1)[0])
        assert "Checks" in staging and "smoke" in staging and "422" in staging
        assert "Run staging's checks again" not in staging
        csrf = checked.form_token()
        refused = checked.client.post(
            f"{PAGE}/environments/staging/operate", data={"action": "verify", "csrf": csrf}
        )
        assert refused.status_code == 403
        checked.client.cookies.clear()
        checked.sign_in("alice-token")
        page = html.unescape(checked.client.get(PAGE).text)
        assert "Run staging's checks again" in page
        csrf = checked.form_token()
        answer = checked.client.post(
            f"{PAGE}/environments/staging/operate", data={"action": "verify", "csrf": csrf}
        )
        assert (answer.status_code, answer.headers["location"]) == (
            303,
            f"{PAGE}?done=verify&environment=staging",
        )
        obj = checked.api.objects[
            ("pipelines.weave.works/v1alpha1", "Pipeline", "default", "podinfo")
        ]
        found = obj["status"]["environments"]["staging"]["verification"]
        assert (found["run"], found["phase"], found["checks"]) == (2, "Running", [])
