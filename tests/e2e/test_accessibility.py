"""Accessibility of every page, in Chromium: axe-core finds no serious or critical violation,
and a keyboard alone gets from the list to an approval.

One ``ferryman up`` for the module, in the state with the most on screen: 6.2.0 runs in staging
and waits for approval in prod, so the pipeline page carries its forms and the list a "Waiting
for your approval" item. alice (release-managers) is the signed-in approver. axe-core comes
bundled with ``axe-playwright-python`` (no network at test time). The keyboard walkthrough
approves, so it runs last in this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, Demo, chromium_path, eventually

PAGE = "/pipelines/default/podinfo"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING = frozenset({"serious", "critical"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo with 6.2.0 in staging and waiting for approval in prod."""
    executable = chromium_path()
    assert executable
    root = tmp_path_factory.mktemp("a11y")
    running = Demo(root / "state", root, *FAST).start()
    try:
        eventually(lambda: running.runs("prod", "6.1.0"), what="the first sync of the demo")
        running.release("6.2.0")
        eventually(lambda: running.runs("staging", "6.2.0"), what="staging runs 6.2.0")
        eventually(lambda: running.phase("prod") == "WaitingApproval", what="prod waits")
        yield running
    finally:
        running.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: Browser, demo: Demo, viewport: dict[str, int]) -> BrowserContext:
    """A browser context where alice signed in with her token."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(demo.url + "/signin")
    page.get_by_label("Bearer token").fill(demo.tokens["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as alice")).to_be_visible()
    page.close()
    return context


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in BLOCKING]


def described(violations: list[dict[str, Any]]) -> str:
    """Each violation with every node it names, for the assertion message."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"    {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            lines.append(f"      {summary}")
    return "\n".join(lines)


def check(page: Page, where: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    page.wait_for_load_state("load")
    found = Axe().run(page).response["violations"]
    bad = blocking(found)
    assert not bad, f"axe-core on {where} ({page.url}):\n{described(bad)}"


@pytest.mark.parametrize(
    ("path", "viewport", "landmark"),
    [
        ("/", DESKTOP, "Waiting for your approval"),
        (PAGE, DESKTOP, "Approve 6.2.0"),
        (f"{PAGE}/history", DESKTOP, "Promotion history of podinfo"),
        (f"{PAGE}/history?page=2", DESKTOP, "Page 2"),
        ("/pipelines/default/no-such-pipeline", DESKTOP, "not found"),
        ("/", PHONE, "Waiting for your approval"),
        (PAGE, PHONE, "Approve 6.2.0"),
        (f"{PAGE}/history", PHONE, "Promotion history of podinfo"),
    ],
    ids=[
        "list",
        "pipeline page waiting for approval",
        "older history from Git",
        "older history, an empty page",
        "404 pipeline",
        "list at phone width",
        "pipeline page at phone width",
        "older history at phone width",
    ],
)
def test_axe_finds_no_serious_violation(
    demo: Demo, browser: Browser, path: str, viewport: dict[str, int], landmark: str
) -> None:
    """Signed in as alice, each page (in the state named by its id) is axe-clean."""
    context = signed_in(browser, demo, viewport)
    try:
        page = context.new_page()
        page.goto(demo.url + path)
        expect(page.get_by_text(landmark).first).to_be_visible()
        check(page, path)
    finally:
        context.close()


def test_axe_finds_no_serious_violation_on_sign_in(demo: Demo, browser: Browser) -> None:
    """The sign-in page, with its "Sign in with the Ferryman demo" link and token form."""
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(demo.url + PAGE)
        expect(page.get_by_role("link", name="Sign in with the Ferryman demo")).to_be_visible()
        check(page, "sign-in")
    finally:
        context.close()


def focused(page: Page) -> dict[str, str]:
    """What has the keyboard focus: tag, id, accessible text and href."""
    found: dict[str, str] = page.evaluate(
        """() => { const e = document.activeElement;
                   return { tag: e.tagName, id: e.id || "", text: (e.innerText || e.value || "")
                   .trim().replace(/\\s+/g, " "), href: e.getAttribute("href") || "" }; }"""
    )
    return found


def tab_to(page: Page, wanted: str, *, limit: int = 60) -> dict[str, str]:
    """Press Tab until the focused element's text, id or href contains ``wanted``."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if any(wanted in value for value in now.values()):
            return now
        seen.append(f"{now['tag']}#{now['id']} {now['text'][:40]!r} {now['href']}")
    raise AssertionError(f"Tab never reached {wanted!r}; focus went through:\n" + "\n".join(seen))


def test_keyboard_only_from_the_list_to_an_approval(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """Tab, Shift+Tab, Enter and Space only: the skip link comes first and moves focus into
    main; Tab reaches the "Waiting for your approval" item; Enter opens prod's section; Tab
    reaches the comment box (typed into) and the Approve button; Space approves, and the result
    is said in a status region (and announced)."""
    context = signed_in(browser, demo, DESKTOP)
    try:
        page = context.new_page()
        page.goto(demo.url + "/")
        expect(page.get_by_role("heading", name="Waiting for your approval")).to_be_visible()
        page.keyboard.press("Tab")
        skip = focused(page)
        assert (skip["text"], skip["href"]) == ("Skip to main content", "#main")
        expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "main"
        item = tab_to(page, f"{PAGE}#env-prod")
        assert item["text"] == "podinfo 6.2.0 into prod"
        page.keyboard.press("Shift+Tab")  # back and forth: focus order is the reading order
        assert focused(page)["href"] != item["href"]
        page.keyboard.press("Tab")
        assert focused(page)["href"] == item["href"]
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{demo.url}{PAGE}#env-prod")
        comment = tab_to(page, "comment-")
        assert comment["tag"] == "TEXTAREA"
        page.keyboard.type("approved by keyboard")
        button = tab_to(page, "Approve 6.2.0")
        assert button["tag"] == "BUTTON"
        page.keyboard.press("Space")
        expect(page.get_by_role("status").filter(has_text="You approved")).to_contain_text(
            "You approved 6.2.0 into prod."
        )
        page.screenshot(path=tmp_path / "keyboard-approved.png", full_page=True)
    finally:
        context.close()
    approvals = demo.environment("prod")["promotion"]["approvals"]
    assert [(a["user"], a["comment"]) for a in approvals] == [("alice", "approved by keyboard")]
