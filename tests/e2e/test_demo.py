"""The demo end to end, exactly as ``make demo`` runs it, with a real browser and real kubectl.

Story: release 6.2.0 → staging runs it without help → prod waits for approval → in Chromium bob
sees he may not approve, alice signs in and approves → prod runs 6.2.0 and the page shows it
without a reload (pushed over its server-sent event stream; a browser without EventSource polls).
Screenshots of each step are saved under the test's tmp dir.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, Demo, chromium_path, eventually


def sign_in(page: Page, demo: Demo, user: str) -> None:
    page.goto(demo.url + "/")
    expect(page).to_have_url(demo.url + "/signin")
    page.get_by_label("Bearer token").fill(demo.tokens[user])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()


def test_release_is_promoted_to_staging_and_approved_into_prod_in_the_browser(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """The issue's story, through the web UI in Chromium, with live updates."""
    executable = chromium_path()
    demo = make_demo(*FAST)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: demo.runs("staging", "6.2.0"), what="staging runs 6.2.0")
    eventually(lambda: demo.phase("prod") == "WaitingApproval", what="prod waits for approval")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(demo.url + "/")
            expect(page).to_have_url(demo.url + "/signin")
            page.screenshot(path=shots / "01-sign-in.png")

            sign_in(page, demo, "bob")
            page.get_by_role("link", name="podinfo", exact=True).click()
            prod = page.locator("#env-prod")
            expect(page.locator("#hop-prod .phase")).to_have_text("Waiting for approval")
            # The embedded API's RBAC refuses first: bob is bound only to the viewer role.
            expect(prod.get_by_role("note").filter(has_text="cannot approve")).to_contain_text(
                re.compile(r'user "bob" may not approve pipelines')
            )
            expect(page.get_by_role("button", name="Approve 6.2.0")).to_have_count(0)
            page.screenshot(path=shots / "02-bob-may-not-approve.png", full_page=True)
            page.get_by_role("button", name="Sign out").click()

            sign_in(page, demo, "alice")
            page.get_by_role("link", name="podinfo", exact=True).click()
            expect(prod.locator(".revision")).to_have_text("6.1.0")
            page.screenshot(path=shots / "03-alice-waiting.png", full_page=True)
            prod.get_by_label("Comment for prod 6.2.0").fill("ship it")
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.get_by_role("button", name="Approve 6.2.0").click()
            expect(page).to_have_url(
                demo.url + "/pipelines/default/podinfo?done=approve&environment=prod&revision=6.2.0"
            )
            expect(page.locator("#flash")).to_have_text("You approved 6.2.0 into prod.")
            page.evaluate("window.ferrymanNoReload = true")
            expect(prod.locator(".revision")).to_have_text("6.2.0", timeout=60_000)
            expect(prod.locator(".promotion .phase")).to_have_text("Promoted", timeout=30_000)
            assert page.evaluate("window.ferrymanNoReload === true"), "the page was reloaded"
            # The updates came over the page's event stream, not by polling its fragment.
            assert demo.url + "/events/pipelines/default/podinfo" in requested
            assert not [url for url in requested if "/fragments/" in url]
            expect(prod).to_contain_text("alice")
            page.screenshot(path=shots / "04-prod-runs-6.2.0.png", full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, "the pipeline page scrolls sideways at phone width"
            page.screenshot(path=shots / "05-phone.png", full_page=True)

            # A browser that cannot keep a stream open polls the fragment instead.
            without_streams = browser.new_context()
            without_streams.add_init_script("delete window.EventSource;")
            polling = without_streams.new_page()
            sign_in(polling, demo, "alice")
            fetched: list[str] = []
            polling.on("request", lambda request: fetched.append(request.url))
            polling.goto(demo.url + "/pipelines/default/podinfo")
            demo.release("6.2.1")
            staging = polling.locator("#env-staging")
            expect(staging.locator(".revision")).to_have_text("6.2.1", timeout=60_000)
            assert [url for url in fetched if "/fragments/pipelines/default/podinfo" in url]
            assert not [url for url in fetched if "/events/" in url]
        finally:
            browser.close()
    assert demo.prod_commits("6.2.0") == 1
    assert demo.interrupt() == 0, "Ctrl-C must stop ferryman up cleanly"


def test_restart_after_approval_loses_nothing_and_commits_once(
    make_demo: Callable[..., Demo],
) -> None:
    """Killed after the approval and before prod runs it: the restart finishes the promotion
    with the approval kept and exactly one commit to prod."""
    slow_flux = ("--soak-seconds", "1", "--flux-delay", "1.5", "--flux-interval", "0.1")
    demo = make_demo(*slow_flux)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: demo.phase("prod") == "WaitingApproval", what="prod waits for approval")
    assert demo.approve_via_api("alice", "6.2.0", "ship it") == 202
    eventually(
        lambda: demo.phase("prod") in ("Approved", "Promoting", "Promoted"),
        what="the controller acts on the approval",
    )
    assert not demo.runs("prod", "6.2.0"), "prod ran 6.2.0 before the crash; nothing to test"
    demo.kill()

    demo.start()
    eventually(lambda: demo.runs("prod", "6.2.0"), what="prod runs 6.2.0 after the restart")
    eventually(lambda: demo.phase("prod") == "Succeeded", what="the promotion succeeds")
    record = demo.environment("prod")["promotion"]
    assert [(a["user"], a["comment"]) for a in record["approvals"]] == [("alice", "ship it")]
    assert demo.prod_commits("6.2.0") == 1
    assert demo.interrupt() == 0


@pytest.mark.kubectl
def test_kubectl_lists_the_demo_pipeline_with_its_columns(
    make_demo: Callable[..., Demo],
) -> None:
    """``kubectl get pipelines -A`` with the written kubeconfig shows the printer columns."""
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is not installed"
    demo = make_demo(*FAST)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    out = subprocess.run(
        [kubectl, "--kubeconfig", str(demo.state_dir / "kubeconfig"), "get", "pipelines", "-A"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header, *rows = out.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "APP",
        "KIND",
        "APP",
        "NAME",
        "AGE",
        "READY",
        "STATUS",
    ]
    assert rows[0].split()[:4] == ["default", "podinfo", "HelmRelease", "podinfo"]
    assert demo.interrupt() == 0


def test_release_without_a_running_demo_is_a_clear_error(tmp_path: Path) -> None:
    """``ferryman demo release`` before ``ferryman up`` says what to do, with exit code 1."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferryman",
            "demo",
            "release",
            "6.2.0",
            "--dir",
            str(tmp_path / "none"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "start the demo first with `ferryman up" in done.stderr
    assert "Traceback" not in done.stderr
