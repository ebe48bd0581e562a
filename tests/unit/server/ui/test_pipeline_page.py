"""The pipeline page as a release manager reads it: gate checklist with browser-side times, the
flow of environments, per-target rows, truthful headline, accessible live region, reject
confirmation, the result of an action announced, the comment counter, history in words."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.server.ui.test_ui import DECIDE, PAGE, World, pipeline_object

from ferryman.server.ui import flash, views


def soaking() -> dict[str, Any]:
    """prod's promotion of 6.2.0 waits for soak time: staging must stay healthy 10 min."""
    obj = pipeline_object()
    obj["spec"]["environments"][1]["promotion"]["minReadySeconds"] = 600
    obj["spec"]["environments"][1]["promotion"]["approval"]["expiresAfter"] = "72h"
    obj["status"]["environments"]["staging"]["readySince"] = "2026-11-28T15:58:00Z"
    record = obj["status"]["environments"]["prod"]["promotion"]
    record.update({"phase": "Pending", "change": None})
    obj["status"]["environments"]["prod"]["waitingApproval"] = None
    obj["status"]["history"][0]["by"] = None
    obj["status"]["history"][0]["url"] = "https://github.com/org/fleet/pull/12"
    return obj


@pytest.fixture
def world() -> Iterator[World]:
    w = World(soaking())
    with w.client:
        yield w


def test_the_checklist_gives_the_soak_deadline_as_a_time_the_browser_counts_down_to(
    world: World,
) -> None:
    """ready-since 15:58 + 600 s: a <time data-countdown> at 16:08 with the absolute time."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    soak = re.search(
        r'<li class="gate-row" data-gate="soak" data-mark="waiting">(.*?)</li>', page, re.S
    )
    assert soak is not None
    assert "Waiting" in soak.group(1)  # the mark in words, not colour or symbol alone
    assert (
        '<time datetime="2026-11-28T16:08:00Z" title="2026-11-28 16:08:00 UTC" data-countdown>'
        "2026-11-28 16:08:00 UTC</time>"
    ) in soak.group(1)


def test_the_approval_policy_is_visible_before_anyone_acts(world: World) -> None:
    """While soak time runs, prod already says who may approve and how many, and the expiry."""
    world.sign_in("bob-token")
    page = html.unescape(world.client.get(PAGE).text)
    assert "0 of 1 approval; asked once the gates above pass" in page
    assert "Who may approve: members of release-managers" in page
    assert 'data-gate="expiry"' in page and "A request expires 72h after it is made" in page


def test_the_headline_is_truthful_and_the_page_is_not_one_live_region(world: World) -> None:
    """No green "Ready: True" above a waiting prod; the replaced region is not aria-live, a small
    polite region outside it announces changes, the connection line sits outside it too."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    assert "Ready: True" not in page
    assert "prod: 6.2.0 waiting for gates" in page
    live = re.search(r'<div id="live"[^>]*>', page)
    assert live is not None and "aria-live" not in live.group(0)
    assert '<div id="announcer" class="sr-only" role="status" aria-live="polite"' in page
    assert page.index('id="connection"') < page.index('id="live"')
    fragment = world.client.get(f"/fragments{PAGE}").text
    assert 'id="connection"' not in fragment and 'id="announcer"' not in fragment


def test_the_list_is_not_one_live_region_either(world: World) -> None:
    """The list's replaced region is not aria-live: its announcer says a new waiting item, and
    its connection line sits outside the region too."""
    world.sign_in("alice-token")
    page = world.client.get("/").text
    live = re.search(r'<div id="live"[^>]*>', page)
    assert live is not None and "aria-live" not in live.group(0)
    assert '<div id="announcer" class="sr-only" role="status" aria-live="polite"' in page
    assert page.index('id="connection"') < page.index('id="live"')


def test_the_flow_lists_environments_in_order_with_what_is_in_flight(world: World) -> None:
    """staging, then the hop carrying 6.2.0, then prod; phases in words, machine word kept."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    order = [page.index(s) for s in ('id="env-staging"', 'id="hop-prod"', 'id="env-prod"')]
    assert order == sorted(order)
    hop = page[page.index('id="hop-prod"') : page.index('id="env-prod"')]
    assert '<span class="phase" data-phase="Pending">Waiting for gates</span>' in hop
    assert "6.2.0" in hop and "From staging to prod:" in hop
    assert ">Pending<" not in page and ">WaitingApproval<" not in page


def test_each_target_has_a_row_with_cluster_namespace_revision_and_health(world: World) -> None:
    """A captioned table per environment: in-cluster, the namespace, the revision, health."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    assert "<caption>Targets of prod</caption>" in page
    assert (
        '<tr class="target"><td>in-cluster</td><td>prod</td><td>6.1.0</td>'
        '<td class="ok">healthy</td></tr>'
    ) in page


def test_history_says_automatic_and_labels_links_and_times(world: World) -> None:
    """No "By —" for automatic promotions, no "link", a caption, <time> and a labelled region."""
    world.sign_in("alice-token")
    page = world.client.get(PAGE).text
    history = page[page.index('id="recent-title"') :]
    assert "<td>automatic" in history
    assert ">Pull request #12 for staging</a>" in history and ">link<" not in history
    assert "<caption>" in history and '<time datetime="2026-11-28T16:00:00Z"' in history
    assert 'role="region" aria-labelledby="recent-title" tabindex="0"' in history


def waiting_world() -> World:
    return World(pipeline_object())


def test_reject_needs_its_confirmation_box() -> None:
    """Without "I mean to reject" ticked the rejection is refused (422) and nothing changes;
    with it, it is recorded and the page says so in a status region."""
    w = waiting_world()
    with w.client:
        w.sign_in("alice-token")
        page = html.unescape(w.client.get(PAGE).text)
        assert 'name="confirm" value="reject" id="confirm-reject-prod" required' in page
        csrf = w.form_token()
        refused = w.client.post(
            DECIDE, data={"action": "reject", "revision": "6.2.0", "csrf": csrf}
        )
        assert refused.status_code == 422
        assert "I mean to reject 6.2.0" in html.unescape(refused.text)
        assert w.prod()["phase"] == "WaitingApproval"
        done = w.client.post(
            DECIDE,
            data={"action": "reject", "revision": "6.2.0", "confirm": "reject", "csrf": csrf},
        )
        assert done.status_code == 303
        assert w.prod()["rejection"]["user"] == "alice"
        shown = html.unescape(w.client.get(done.headers["location"]).text)
        assert '<p class="flash" role="status" id="flash">You rejected 6.2.0 for prod' in shown


def test_the_comment_box_takes_what_status_keeps_and_counts() -> None:
    """maxlength is the stored limit (280) and a counter "0 / 280" describes the field."""
    w = waiting_world()
    with w.client:
        w.sign_in("alice-token")
        page = w.client.get(PAGE).text
        assert (
            '<textarea id="comment-prod" name="comment" rows="2" maxlength="280" '
            'aria-describedby="count-prod" data-counter="count-prod">'
        ) in page
        assert '<p class="counter" id="count-prod"><span class="count">0</span> / 280' in page
        # The hold/rollback reason is kept to the same length and counted the same way.
        assert (
            '<input id="why-prod" name="comment" maxlength="280" '
            'aria-describedby="count-why-prod" data-counter="count-why-prod">'
        ) in page
        assert '<p class="counter" id="count-why-prod"><span class="count">0</span> / 280' in page


def test_a_refused_approver_reads_the_policy_first_and_rbac_second() -> None:
    """bob sees "Only members of release-managers may approve prod", RBAC's sentence after it."""
    w = waiting_world()
    with w.client:
        w.sign_in("bob-token")
        page = html.unescape(w.client.get(PAGE).text)
        policy = page.index("You cannot approve this promotion: Only members of release-managers")
        assert policy < page.index('user "bob" may not approve')


@pytest.mark.parametrize(
    ("query", "said"),
    [
        (
            {"done": "approve", "environment": "prod", "revision": "6.2.0"},
            "You approved 6.2.0 into prod.",
        ),
        (
            {"done": "hold", "environment": "prod"},
            "You held prod: nothing is promoted into it until it is unheld.",
        ),
        ({"done": "approve", "environment": "prod", "revision": "a b"}, ""),
        ({"done": "approve", "environment": "", "revision": "6.2.0"}, ""),
        ({"done": "delete", "environment": "prod"}, ""),
        ({}, ""),
    ],
    ids=["approve", "hold", "bad revision", "no environment", "unknown action", "nothing done"],
)
def test_the_result_of_an_action_is_one_sentence_from_a_fixed_list(
    query: dict[str, str], said: str
) -> None:
    """The redirect's query becomes a sentence only for known actions and valid names."""
    assert flash.message(query) == said


def test_link_labels_name_the_pull_request_or_the_change() -> None:
    """History and change links have meaningful text, never "link"."""
    assert views.link_label("https://github.com/o/r/pull/12", "prod", "6.2.0") == (
        "Pull request #12 for prod"
    )
    assert views.link_label("https://gitlab.com/o/r/-/merge_requests/7", "prod", "6.2.0") == (
        "Pull request #7 for prod"
    )
    assert views.link_label("https://git.example.com/o/r/commit/abc", "prod", "6.2.0") == (
        "Change for prod 6.2.0"
    )


def test_a_pushed_commit_shows_in_recent_promotions() -> None:
    """A git-push promotion's history line has no URL but its commit: the Change cell shows the
    short SHA with the whole one on hover, not "—"."""
    obj = soaking()
    obj["status"]["history"] = [
        {
            "environment": "staging",
            "revision": "6.2.0",
            "phase": "Succeeded",
            "at": "2026-11-28T16:00:00Z",
            "commit": "0123456789abcdef" * 2 + "01234567",
        }
    ]
    w = World(obj)
    with w.client:
        w.sign_in("alice-token")
        page = w.client.get(PAGE).text
    history = page[page.index('id="recent-title"') :]
    assert '<code title="Commit 0123456789abcdef0123456789abcdef01234567">0123456789ab</code>' in (
        history
    )
