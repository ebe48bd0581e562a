"""Every route is guarded: a sweep over the app's routing table, plus 404/405 without echo."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from tests.unit.server import harness

PARAMS = {
    "namespace": "default",
    "name": "podinfo",
    "environment": "prod",
    "revision": "6.1.0",
}
HMAC_ROUTES = {"/promotion/", "/approval/"}


def sweep() -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app with legacy approval on."""
    app = harness.Harness(legacy=True).app
    found = []
    for route in app.routes:
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path))
    return found


ROUTES = sweep()


def test_sweep_covers_every_concern() -> None:
    """The sweep sees the receiver, legacy approval, approve/reject, the operator actions and
    the diff (verify among them), and the three reads."""
    paths = {path for _, path in ROUTES}
    assert len(ROUTES) == 13
    assert any(p.startswith("/promotion/") for p in paths)
    assert any(p.startswith("/approval/") for p in paths)
    assert {p.rsplit("/", 1)[1] for p in paths if "/environments/" in p} == {
        "approve",
        "reject",
        "hold",
        "unhold",
        "promote",
        "rollback",
        "verify",
        "diff",
    }


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_credentials_is_401_everywhere(method: str, path: str) -> None:
    """No token, no signature: 401 on every route, with the one fixed body."""
    h = harness.Harness(legacy=True)
    await h.waiting()
    before = h.state()
    reply = await h.call(method, path, body=b'{"revision": "6.1.0"}' if method == "POST" else b"")
    assert reply.status == 401
    assert reply.json()["message"] == "unauthorized"
    assert h.state() == before and h.trigger.enqueued == []


@pytest.mark.parametrize(
    ("method", "path"), [r for r in ROUTES if not any(p in r[1] for p in HMAC_ROUTES)]
)
async def test_token_without_the_verb_is_403_everywhere(method: str, path: str) -> None:
    """An authenticated user with no RBAC grant gets 403 naming the verb on every API route."""
    h = harness.Harness(legacy=True)
    await h.waiting()
    before = h.state()
    reply = await h.call(
        method,
        path,
        headers={"authorization": "Bearer eve-token"},
        body=b'{"revision": "6.1.0"}' if method == "POST" else b"",
    )
    assert reply.status == 403
    message = reply.json()["message"]
    assert (
        message.startswith('user "eve" may not ') and "pipelines.pipelines.weave.works" in message
    )
    assert h.state() == before


@pytest.mark.parametrize(
    "header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "bearer nope", "Token alice-token"]
)
async def test_malformed_or_unknown_bearer_tokens_are_401(header: str) -> None:
    """Other schemes, empty and unknown tokens are all the same 401."""
    h = harness.Harness()
    reply = await h.call("GET", "/api/v1/pipelines", headers={"authorization": header})
    assert reply.status == 401 and reply.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_path_and_wrong_method_do_not_echo_input() -> None:
    """404 and 405 answer fixed sentences; the request's path never comes back."""
    h = harness.Harness()
    probe = "/<script>alert(1)</script>"
    missing = await h.call("GET", probe)
    assert missing.status == 404 and b"script" not in missing.body
    wrong = await h.call("DELETE", "/promotion/default/podinfo/<b>dev")
    assert wrong.status == 405 and b"<b>" not in wrong.body


async def test_legacy_route_is_absent_by_default() -> None:
    """Without enable_legacy_approval, /approval/... does not exist (404)."""
    h = harness.Harness()
    reply = await h.call("POST", "/approval/default/podinfo/prod/6.1.0")
    assert reply.status == 404
