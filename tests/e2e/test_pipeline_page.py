"""The pipeline page in Chromium, on the demo: the gate checklist counts down in the browser (no
fetch, no status write), rejecting needs its confirmation and says what happened, and the
connection line says when the server is gone.

One ``ferryman up`` with a soak time long enough to watch (20 s) and short enough to wait out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, Demo, chromium_path, eventually
from tests.e2e.test_demo import sign_in

SOAKING = ("--soak-seconds", "20", "--flux-delay", "0.2", "--flux-interval", "0.1")
PAGE = "/pipelines/default/podinfo"


def seconds(text: str) -> int:
    """``in 1 min 5 s`` → 65 (what live.js prints)."""
    units = {"d": 86400, "h": 3600, "min": 60, "s": 1}
    found = re.findall(r"(\d+) (d|h|min|s)\b", text)
    assert found, f"not a countdown: {text!r}"
    return sum(int(n) * units[u] for n, u in found)


def read_twice(page: Page, selector: str) -> tuple[str, str]:
    """The text of ``selector`` now, and again once the browser's clock has moved it on (read
    every 0.3 s for up to 10 s: a loaded machine may delay the page's one-second timer). The
    deadline itself (``datetime``) must not move meanwhile."""
    countdown = page.locator(selector)
    first, deadline = countdown.inner_text(), countdown.get_attribute("datetime")
    later = first
    for _ in range(34):
        page.wait_for_timeout(300)
        later = countdown.inner_text()
        if later != first:
            break
    assert countdown.get_attribute("datetime") == deadline, "the soak deadline moved"
    return first, later


def test_the_soak_countdown_ticks_reject_asks_for_confirmation_and_a_lost_server_shows(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """prod's soak gate counts down without fetching anything; the approval policy is shown
    while it does; reject refuses to submit until "I mean to reject" is ticked, then the page
    says "You rejected 6.2.0"; stopping the server turns the connection line to "lost"."""
    executable = chromium_path()
    demo = make_demo(*SOAKING)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: demo.phase("prod") == "Pending", what="prod soaks 6.2.0")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, demo, "alice")
            page.goto(demo.url + PAGE)
            soak = page.locator('#env-prod [data-gate="soak"]')
            expect(soak).to_contain_text("Waiting")
            expect(page.locator('#env-prod [data-gate="approval"]')).to_contain_text(
                "Who may approve: members of release-managers"
            )
            fetched: list[str] = []
            page.on("request", lambda request: fetched.append(request.url))
            first, second = read_twice(page, '#env-prod [data-gate="soak"] time[data-countdown]')
            assert first.startswith("in ") and second.startswith("in "), (first, second)
            assert seconds(second) < seconds(first), (first, second)
            assert fetched == [], "the countdown needed no request"
            expect(page.locator("#connection")).to_contain_text("Updated")
            page.screenshot(path=tmp_path / "soak-countdown.png", full_page=True)

            expect(page.locator("#hop-prod .phase")).to_have_text(
                "Waiting for approval", timeout=60_000
            )
            page.locator("#reject-prod summary").click()
            page.get_by_role("button", name="Reject 6.2.0").click()
            # The browser refuses to submit without the box ticked: nothing was recorded.
            expect(page).to_have_url(demo.url + PAGE)
            assert demo.phase("prod") == "WaitingApproval"
            page.get_by_label("Why reject 6.2.0 for prod").fill("not today")
            expect(page.locator("#count-reject-prod")).to_have_text("9 / 280 characters")
            page.get_by_label(re.compile("I mean to reject 6.2.0")).check()
            page.get_by_role("button", name="Reject 6.2.0").click()
            expect(page.locator("#flash")).to_have_text(
                "You rejected 6.2.0 for prod: it will not be promoted there."
            )
            expect(page.locator("#announcer")).to_contain_text("You rejected 6.2.0")
            eventually(lambda: demo.phase("prod") == "Rejected", what="prod rejected 6.2.0")

            demo.interrupt()
            expect(page.locator("#connection")).to_have_attribute(
                "data-state", "lost", timeout=30_000
            )
            expect(page.locator("#connection")).to_contain_text("Connection lost, retrying…")
        finally:
            browser.close()
