"""Signing in to the demo with its OpenID Provider, in Chromium, from a pipeline page link.

The demo provider is ``http://localhost:<port>`` and the UI ``http://127.0.0.1:<port>``: two
sites, as with a real provider, so the provider's redirect back is a cross-site navigation. The
story: a release waits for approval in prod; alice follows a link to the pipeline page, is sent
to sign in, chooses "Sign in with the Ferryman demo", picks alice at the provider, lands back on
the pipeline page signed in (the SameSite=Strict session works after the cross-site hop) and
approves. Then every open-redirect attempt in ``next`` lands on ``/`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Browser, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, Demo, chromium_path, eventually

PAGE = "/pipelines/default/podinfo"
OPEN_REDIRECTS = ("//evil.example/", "https://evil.example/", "/\\evil.example/")


def sign_in_with_the_provider(browser: Browser, demo: Demo, start: str, user: str) -> object:
    """A fresh browser opens ``start``, goes through the provider as ``user``; its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(demo.url + start)
    page.get_by_role("link", name="Sign in with the Ferryman demo").click()
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/authorize\?"))
    page.get_by_role("button", name=re.compile(f"Sign in as {user} ")).click()
    return page


def test_alice_signs_in_with_the_demo_provider_from_a_pipeline_link_and_approves(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    executable = chromium_path()
    demo = make_demo(*FAST)
    assert any("demo OpenID Provider" in line for line in demo.banner)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: demo.phase("prod") == "WaitingApproval", what="prod waits for approval")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(demo.url + PAGE)
            expect(page).to_have_url(f"{demo.url}/signin?next={PAGE}")
            page.screenshot(path=tmp_path / "01-sign-in.png")
            page.get_by_role("link", name="Sign in with the Ferryman demo").click()
            expect(page).to_have_url(re.compile(r"^http://localhost:\d+/authorize\?"))
            page.screenshot(path=tmp_path / "02-provider.png")
            page.get_by_role("button", name=re.compile("Sign in as alice ")).click()
            expect(page).to_have_url(demo.url + PAGE)
            expect(page.get_by_text("Signed in as alice")).to_be_visible()
            session = [c for c in context.cookies() if c["name"] == "ferryman_session"]
            assert session and session[0]["sameSite"] == "Strict"
            assert not [c for c in context.cookies() if c["name"] == "ferryman_oidc"]
            prod = page.locator("#env-prod")
            prod.get_by_label("Comment for prod 6.2.0").fill("signed in with OIDC")
            page.get_by_role("button", name="Approve 6.2.0").click()
            expect(page).to_have_url(
                f"{demo.url}{PAGE}?done=approve&environment=prod&revision=6.2.0"
            )
            expect(prod.locator(".revision")).to_have_text("6.2.0", timeout=60_000)
            page.screenshot(path=tmp_path / "03-approved.png", full_page=True)
            context.close()

            for target in OPEN_REDIRECTS:
                landed = sign_in_with_the_provider(
                    browser, demo, f"/signin?next={quote(target, safe='')}", "bob"
                )
                expect(landed).to_have_url(demo.url + "/")  # type: ignore[arg-type]
                expect(landed.get_by_text("Signed in as bob")).to_be_visible()  # type: ignore[attr-defined]
        finally:
            browser.close()
    approvals = demo.environment("prod")["promotion"]["approvals"]
    assert [(a["user"], a["comment"]) for a in approvals] == [("alice", "signed in with OIDC")]
