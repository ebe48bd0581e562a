"""The list's "Waiting for your approval": exactly the promotions whose page shows the user an
Approve button, decided by the same access review (cached) and approval policy."""

from __future__ import annotations

import copy
import dataclasses
import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.fakes import auth as fakes_auth
from tests.unit.server.ui.test_ui import GRANTS, PAGE, World, pipeline_object

from ferryman.server import auth_cache
from ferryman.server.ui import routes, views, waiting

SECTION = re.compile(r'<section class="waiting".*?</section>', re.DOTALL)


def section(text: str) -> str:
    """The "Waiting for your approval" section of a list page or fragment."""
    found = SECTION.search(text)
    assert found is not None, "the list has no waiting section"
    return html.unescape(found.group(0))


def with_policy(approval: dict[str, Any], *approvers: str) -> dict[str, Any]:
    """The waiting pipeline, with prod's approval policy replaced and ``approvers`` recorded."""
    obj = copy.deepcopy(pipeline_object())
    obj["spec"]["environments"][1]["promotion"]["approval"] = approval
    obj["status"]["environments"]["prod"]["promotion"]["approvals"] = [
        {"user": user, "groups": ["release-managers"], "at": "2026-11-28T16:01:00Z"}
        for user in approvers
    ]
    return obj


def test_an_approver_sees_the_waiting_promotion_linking_to_its_environment() -> None:
    """alice may approve prod: the item names pipeline, environment, revision, since when
    (a ``<time>``), the approval count, and links to prod's section of the pipeline page."""
    w = World(pipeline_object())
    with w.client:
        w.sign_in("alice-token")
        for path in ("/", "/fragments/pipelines"):
            found = section(w.client.get(path).text)
            assert "Waiting for your approval" in found
            assert f'href="{PAGE}#env-prod"' in found
            assert re.search(r"<strong>podinfo</strong> 6\.2\.0 into prod", found)
            assert '<time datetime="2026-11-28T16:00:00Z">2026-11-28 16:00:00 UTC</time>' in found
            assert "0 of 1 approval" in found
            assert "Nothing waits for you." not in found


def test_a_viewer_is_told_nothing_waits_for_them() -> None:
    """bob (viewer) may not approve: the section says so and lists nothing."""
    w = World(pipeline_object())
    with w.client:
        w.sign_in("bob-token")
        found = section(w.client.get("/").text)
        assert "Nothing waits for you." in found
        assert "#env-prod" not in found


@pytest.mark.parametrize(
    ("approval", "approvers", "listed", "count"),
    [
        ({"required": 2}, ("carol",), True, "1 of 2 approvals"),
        ({"required": 2}, ("alice",), False, ""),
        ({"required": 1, "approvers": {"groups": ["cab"]}}, (), False, ""),
        ({"required": 1, "approvers": {"users": ["alice"]}}, (), True, "0 of 1 approval"),
    ],
    ids=[
        "two needed, carol approved: still waits for alice",
        "two needed, alice approved: not waiting for her again",
        "policy limits approvals to another group: RBAC alone does not list it",
        "policy names alice: listed",
    ],
)
def test_the_list_agrees_with_the_approve_button(
    approval: dict[str, Any], approvers: tuple[str, ...], listed: bool, count: str
) -> None:
    """An item is listed exactly when the pipeline page shows alice its Approve button (less
    the revisions she has approved already)."""
    w = World(with_policy(approval, *approvers))
    with w.client:
        w.sign_in("alice-token")
        found = section(w.client.get("/").text)
        page = w.client.get(PAGE).text
        assert ("#env-prod" in found) is listed
        assert count in found
        if listed:
            assert "Approve 6.2.0" in page
        if approval.get("approvers", {}).get("groups") == ["cab"]:
            assert "Approve 6.2.0" not in page
            assert "Only members of cab may approve prod" in html.unescape(page)


def test_list_views_ask_rbac_through_the_cache() -> None:
    """Many list views by the same user cost one SubjectAccessReview per verb and pipeline
    (the cached reviewer answers the rest), and the reviews are for approve and reject."""
    inner = fakes_auth.FakeAccessReviewer(GRANTS)
    w = World(pipeline_object())
    deps = dataclasses.replace(w.deps, reviewer=auth_cache.CachedAccessReviewer(inner))
    client = TestClient(
        Starlette(routes=routes.ui_routes(deps)),
        base_url="https://ferryman.test",
        follow_redirects=False,
    )
    w.client = client
    with client:
        w.sign_in("alice-token")
        for _ in range(5):
            assert "#env-prod" in section(client.get("/fragments/pipelines").text)
    verbs = sorted(request.verb for _, request in inner.requests)
    assert verbs == ["approve", "list", "reject"]


def test_items_are_ordered_longest_wait_first() -> None:
    """The oldest request comes first; ties by pipeline and environment."""

    def item(name: str, minute: int) -> waiting.WaitingItem:
        since = datetime(2026, 11, 28, 16, minute, tzinfo=UTC)
        return waiting.WaitingItem("default", name, "prod", "1.0.0", since, 0, 1)

    ordered = waiting.oldest_first([item("b", 5), item("a", 9), item("c", 5)])
    assert [i.name for i in ordered] == ["b", "c", "a"]


def test_no_item_without_permission_to_approve() -> None:
    """Permissions that refuse approving (or none given) list nothing."""
    obj = pipeline_object()
    refused = {"prod": views.Permission(approve=False, reject=True)}
    assert waiting.items_of(obj, refused, "alice") == []
    assert waiting.items_of(obj, {}, "alice") == []
    allowed = waiting.items_of(obj, {"prod": views.Permission(approve=True)}, "alice")
    assert [(i.environment, i.revision, i.required) for i in allowed] == [("prod", "6.2.0", 1)]


def test_four_eyes_who_approved_one_stage_back_may_reject_but_not_approve() -> None:
    """With ``preventSelfApproval``, alice approved 6.2.0 into staging: prod's page offers her
    Reject with the four-eyes sentence instead of Approve, and her list does not ask her; the
    rule off, both offer the approval."""
    for prevent, listed in ((True, False), (False, True)):
        obj = with_policy({"required": 1, "preventSelfApproval": prevent})
        obj["status"]["environments"]["staging"]["promotion"] = {
            "revision": "6.2.0",
            "from": "staging",
            "phase": "Succeeded",
            "requestedAt": "2026-11-28T15:00:00Z",
            "approvals": [
                {"user": "alice", "groups": ["release-managers"], "at": "2026-11-28T15:01:00Z"}
            ],
        }
        w = World(obj)
        with w.client:
            w.sign_in("alice-token")
            found = section(w.client.get("/").text)
            page = html.unescape(w.client.get(PAGE).text)
            assert ("#env-prod" in found) is listed
            assert ("Approve 6.2.0" in page) is listed
            assert ("someone else must approve it into prod (four-eyes rule)" in page) is not listed
            assert 'value="reject"' in page
