"""Approving from "Waiting for your approval", signed in with the demo's OpenID Provider.

The story: 6.2.0 waits for approval in prod. alice opens the UI, signs in through the demo
provider (authorization code with PKCE), lands on the list, finds prod in "Waiting for your
approval" (with the revision, since when and "0 of 1 approval"), follows the item to prod's
section of the pipeline page, approves, and sees prod promote to 6.2.0; the item leaves the
list. bob, who may only look, is told that nothing waits for him.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, Demo, chromium_path, eventually

PAGE = "/pipelines/default/podinfo"


def sign_in_with_the_provider(browser: Browser, demo: Demo, user: str) -> Page:
    """A fresh browser opens the list and signs in through the demo provider as ``user``."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(demo.url + "/")
    page.get_by_role("link", name="Sign in with the Ferryman demo").click()
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/authorize\?"))
    page.get_by_role("button", name=re.compile(f"Sign in as {user} ")).click()
    expect(page).to_have_url(demo.url + "/")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    return page


def test_alice_approves_prod_from_waiting_for_your_approval(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    executable = chromium_path()
    demo = make_demo(*FAST)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: demo.phase("prod") == "WaitingApproval", what="prod waits for approval")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            bob = sign_in_with_the_provider(browser, demo, "bob")
            waiting = bob.get_by_role("region", name="Waiting for your approval")
            expect(waiting).to_contain_text("Nothing waits for you.")
            bob.context.close()

            page = sign_in_with_the_provider(browser, demo, "alice")
            waiting = page.get_by_role("region", name="Waiting for your approval")
            item = waiting.get_by_role("listitem").filter(has_text="into prod")
            expect(item).to_contain_text("podinfo 6.2.0 into prod")
            expect(item).to_contain_text("0 of 1 approval")
            expect(item.locator("time")).to_have_attribute(
                "datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            )
            page.screenshot(path=tmp_path / "01-waiting.png", full_page=True)
            item.get_by_role("link").click()
            expect(page).to_have_url(f"{demo.url}{PAGE}#env-prod")
            prod = page.locator("#env-prod")
            prod.get_by_label("Comment for prod 6.2.0").fill("from my list")
            prod.get_by_role("button", name="Approve 6.2.0").click()
            expect(page).to_have_url(
                f"{demo.url}{PAGE}?done=approve&environment=prod&revision=6.2.0"
            )
            expect(page.locator("#flash")).to_have_text("You approved 6.2.0 into prod.")
            expect(prod.locator(".revision")).to_have_text("6.2.0", timeout=60_000)
            page.screenshot(path=tmp_path / "02-promoted.png", full_page=True)
            page.goto(demo.url + "/")
            expect(waiting).to_contain_text("Nothing waits for you.")
        finally:
            browser.close()
    approvals = demo.environment("prod")["promotion"]["approvals"]
    assert [(a["user"], a["comment"]) for a in approvals] == [("alice", "from my list")]
