"""Verification on the demo, as ``make demo`` runs it: staging's smoke check gates prod.

The demo's staging verifies each revision with a signed ``webhook`` check against the demo's
smoke-test service, which fails 6.6.7. Story: 6.2.0 passes staging's check and only then does
prod ask for approval; 6.6.7 deploys fine but fails the check — it stops at staging with the
check's message in ``ferryman why`` and on the page in Chromium (checks per environment, and the
button to run them again); 6.6.8, the fix, is verified afresh and flows to prod's approval.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, Demo, chromium_path, eventually
from tests.e2e.test_demo import sign_in


def verification(demo: Demo, env: str = "staging") -> dict[str, Any]:
    found: dict[str, Any] = demo.environment(env).get("verification") or {}
    return found


def verified(demo: Demo, revision: str, phase: str) -> bool:
    found = verification(demo)
    return found.get("revision") == revision and found.get("phase") == phase


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ferryman(demo: Demo, *args: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferryman",
            "--kubeconfig",
            str(demo.state_dir / "kubeconfig"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_prod_gets_a_release_only_after_stagings_checks_and_a_failing_one_stops_at_staging(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """6.2.0 reaches prod's approval after staging's check passed; 6.6.7 stops at staging with
    the check's message (why, the page); 6.6.8 is verified afresh and goes on."""
    executable = chromium_path()
    demo = make_demo(*FAST)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")

    demo.release("6.2.0")
    eventually(lambda: demo.phase("prod") == "WaitingApproval", what="prod waits for approval")
    found = verification(demo)
    assert (found["revision"], found["phase"]) == ("6.2.0", "Passed")
    [smoke] = found["checks"]
    assert (smoke["name"], smoke["phase"], smoke["message"]) == (
        "smoke",
        "Passed",
        "answered 200: smoke tests of 6.2.0 passed",
    )
    record = demo.environment("prod")["promotion"]
    assert record["revision"] == "6.2.0"
    assert when(smoke["finishedAt"]) <= when(record["approvalRequestedAt"])

    demo.release("6.6.7")
    eventually(lambda: demo.runs("staging", "6.6.7"), what="staging runs 6.6.7")
    eventually(lambda: verified(demo, "6.6.7", "Failed"), what="staging's check fails 6.6.7")
    why = ferryman(demo, "why", "podinfo")
    assert (
        "prod: 6.6.7 failed smoke in staging: answered 422: checkout returns HTTP 500 on 6.6.7. "
        "To run staging's checks again: ferryman verify podinfo -n default --env staging"
    ) in why
    assert "staging: nothing is held back (runs 6.6.7). Its checks of 6.6.7 failed" in why
    prod = demo.environment("prod")
    assert prod["revision"] == "6.1.0"
    assert prod["promotion"]["revision"] == "6.6.7"
    assert prod["promotion"]["phase"] == "Pending"

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, demo, "alice")
            page.get_by_role("link", name="podinfo", exact=True).click()
            staging = page.locator("#env-staging")
            check = staging.locator('.check[data-check="smoke"]')
            expect(check.locator(".phase")).to_have_text("Failed")
            expect(check).to_contain_text("checkout returns HTTP 500 on 6.6.7")
            expect(page.locator('#env-prod [data-gate="checks"]')).to_contain_text(
                "6.6.7 failed smoke in staging"
            )
            expect(page.get_by_role("button", name="Run staging's checks again")).to_be_visible()
            page.screenshot(path=shots / "01-staging-check-failed.png", full_page=True)
        finally:
            browser.close()

    demo.release("6.6.8")
    eventually(lambda: verified(demo, "6.6.8", "Passed"), what="the fix passes staging's check")
    eventually(
        lambda: (
            (demo.environment("prod").get("promotion") or {}).get("revision") == "6.6.8"
            and demo.phase("prod") == "WaitingApproval"
        ),
        what="prod waits for approval of the fix",
    )
    assert demo.prod_commits("6.6.7") == 0
    assert demo.interrupt() == 0
