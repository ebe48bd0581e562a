"""``static/live.js`` in Chromium against a small page served from a thread: focus survives an
update, only what changed is announced, typing holds updates back, times tick, and the connection
line says when the server is gone and when it is back.

The page polls (no stream URL), so the test decides exactly what each fetch of the fragment
answers; no Ferryman process is needed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path

SCRIPT = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "ferryman"
    / "server"
    / "ui"
    / "static"
    / "live.js"
).read_bytes()
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<script src="/live.js" defer></script></head><body>
<p id="flash" role="status"></p>
<p id="connection" data-state="live"><span class="connection-text">Live updates on.</span>
<span class="connection-age" hidden>Updated <time data-relative></time>.</span></p>
<div id="live" data-live-url="/fragment" data-interval="150">{fragment}</div>
<div id="announcer" role="status" aria-live="polite"></div>
</body></html>"""


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fragment(headline: str, *, approvals: tuple[str, ...] = (), note: str = "") -> str:
    """A region like ``_pipeline.html``'s: a headline, a link, approvals, a comment box, times."""
    soon = iso(datetime.now(UTC) + timedelta(minutes=5))
    past = iso(datetime.now(UTC) - timedelta(minutes=3))
    approved = "".join(
        f'<li data-key="approval-prod-{u}" data-announce="prod: approved by {u}">{u}</li>'
        for u in approvals
    )
    return (
        f'<p data-key="headline" data-announce="{headline}">{headline}</p>'
        f'<p class="note">{note}</p>'
        '<a href="/pr/12">Pull request #12 for prod</a>'
        f"<ul>{approved}</ul>"
        f'<time id="soak" datetime="{soon}" data-countdown>{soon}</time>'
        f'<time id="asked" datetime="{past}" data-relative>{past}</time>'
        '<textarea id="comment-prod" data-counter="count-prod" maxlength="280"></textarea>'
        '<p id="count-prod"><span class="count">0</span> / 280 characters</p>'
    )


@dataclass
class Served:
    """What the fake server answers: the fragment, or 503 while ``down``."""

    current: str
    down: bool = False
    fetches: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Served]]:
    state = Served(fragment("prod: 6.2.0 waiting for approval"))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            return

        def do_GET(self) -> None:  # the http.server API names it so
            state.fetches.append(self.path)
            if self.path == "/live.js":
                body, kind, code = SCRIPT, "text/javascript", 200
            elif self.path == "/page":
                body, kind, code = PAGE.format(fragment=state.current).encode(), "text/html", 200
            elif self.path == "/fragment" and not state.down:
                body, kind, code = state.current.encode(), "text/html", 200
            else:
                body, kind, code = b"", "text/plain", 503
            self.send_response(code)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield found
        finally:
            found.close()


@pytest.fixture
def page(browser: Browser, served: tuple[str, Served]) -> Iterator[Page]:
    url, state = served
    state.current, state.down = fragment("prod: 6.2.0 waiting for approval"), False
    opened = browser.new_page()
    opened.goto(url + "/page")
    yield opened
    opened.close()


def test_focus_stays_and_only_what_changed_is_announced(
    page: Page, served: tuple[str, Served]
) -> None:
    """A focused link keeps focus across an update; the announcer says the new headline and the
    new approval, not what stayed the same; times read "in 5 min" and "3 min ago"."""
    _, state = served
    expect(page.locator("#soak")).to_have_text(re.compile(r"^in (4 min \d+ s|5 min)$"))
    expect(page.locator("#asked")).to_have_text(re.compile(r"^3 min( \d+ s)? ago$"))
    page.get_by_role("link", name="Pull request #12 for prod").focus()
    state.current = fragment("prod: 6.2.0 promoting", approvals=("alice",), note="v2")
    expect(page.locator("#live .note")).to_have_text("v2")
    assert page.evaluate("document.activeElement.textContent") == "Pull request #12 for prod"
    expect(page.locator("#announcer")).to_have_text(
        "prod: 6.2.0 promoting. prod: approved by alice"
    )


def test_typing_holds_updates_back_and_the_counter_counts(
    page: Page, served: tuple[str, Served]
) -> None:
    """While a comment is being written the region is not replaced; once it is emptied and left,
    the waiting update lands."""
    _, state = served
    box = page.locator("#comment-prod")
    box.fill("ship it")
    expect(page.locator("#count-prod")).to_have_text("7 / 280 characters")
    state.current = fragment("prod: 6.2.0 promoting", note="later")
    fetched = len(state.fetches)
    page.wait_for_timeout(600)  # several polls come and go while the user types
    assert len(state.fetches) > fetched, "the page kept polling"
    expect(page.locator("#live .note")).to_have_text("")
    assert box.input_value() == "ship it"
    box.fill("")
    page.locator("body").click()
    expect(page.locator("#live .note")).to_have_text("later")


def test_the_connection_line_says_lost_and_recovers(page: Page, served: tuple[str, Served]) -> None:
    """Failed polls turn the line to "Connection lost, retrying…"; the next answer restores it."""
    _, state = served
    expect(page.locator("#connection")).to_contain_text("Updated")
    state.down = True
    expect(page.locator("#connection")).to_have_attribute("data-state", "lost")
    expect(page.locator("#connection")).to_contain_text("Connection lost, retrying…")
    state.down = False
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#connection")).to_contain_text("Live updates on. Updated")
