"""Operating releases on the demo, as the user guide's incident walk-through tells it.

6.2.0 reaches prod; `ferryman rollback` puts prod back on 6.1.0 through its approval (given in
Chromium, beside the change it approves) and a commit, and holds it; 6.3.0 reaches staging but
not prod, which says why; `ferryman unhold` lets prod ask for 6.3.0 with the diff shown; an
approval given before someone edits prod's manifest is void when the promotion comes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, PIPELINE_PATH, Demo, chromium_path, eventually
from tests.e2e.test_demo import sign_in


def ferryman(demo: Demo, user: str, *args: str) -> str:
    """The CLI as ``user``, global flags before the subcommand (as README and banner print)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferryman",
            "--kubeconfig",
            str(demo.state_dir / f"kubeconfig-{user}"),
            "--server",
            demo.url,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def record(demo: Demo, env: str = "prod") -> dict[str, Any]:
    promotion: dict[str, Any] = demo.environment(env).get("promotion") or {}
    return promotion


def waits_for(demo: Demo, revision: str) -> bool:
    current = record(demo)
    return current.get("phase") == "WaitingApproval" and current.get("revision") == revision


def pending(demo: Demo) -> str:
    conditions = (demo.pipeline().get("status") or {}).get("conditions") or []
    return next((c["message"] for c in conditions if c["type"] == "PromotionPending"), "")


def edit_prod_manifest(demo: Demo, version: str) -> None:
    """A person pushes a hand edit of prod's chart version (the manifest the approval saw)."""
    bare = demo.state_dir / "demo-repo.git"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": tempfile.gettempdir(), "PATH": "/usr/bin:/bin"}
    ident = ["-c", "user.name=Oncall", "-c", "user.email=oncall@example.invalid"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, env=env)
        path = work / "prod" / "podinfo.yaml"
        text = path.read_text()
        current = next(line for line in text.splitlines() if "$promotion" in line)
        old = current.split(":", 1)[1].split("#", 1)[0].strip()
        path.write_text(text.replace(current, current.replace(old, version, 1)))
        subprocess.run(["git", *ident, "commit", "-qam", "hotfix"], cwd=work, check=True, env=env)
        subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, check=True, env=env)


def set_prod_windows(demo: Demo, windows: list[dict[str, str]]) -> None:
    """Replace prod's promotion windows (read, then write with the resourceVersion read)."""
    client = demo.client()
    obj = client.request("GET", PIPELINE_PATH).body
    for env in obj["spec"]["environments"]:
        if env["name"] == "prod":
            env.setdefault("promotion", {})["windows"] = windows
    answer = client.request("PUT", PIPELINE_PATH, obj)
    assert answer.status == 200, json.dumps(answer.body)


def test_the_incident_walkthrough_on_the_demo(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """Rollback through approval and a commit, a hold that says why, unhold with the diff, and
    an approval voided by an edit of the manifest it approved."""
    demo = make_demo(*FAST)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    demo.release("6.2.0")
    eventually(lambda: waits_for(demo, "6.2.0"), what="prod waits for approval of 6.2.0")
    assert demo.approve_via_api("alice", "6.2.0", "ship it") == 202
    eventually(lambda: demo.runs("prod", "6.2.0"), what="prod runs 6.2.0")

    said = ferryman(demo, "alice", "rollback", "podinfo", "--env", "prod", "--comment", "checkout")
    assert said.strip() == 'environment "prod" of pipeline "podinfo" rolled back at 6.1.0.'
    eventually(lambda: waits_for(demo, "6.1.0"), what="prod waits for approval of 6.1.0")
    assert record(demo)["trigger"] == "Rollback"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, demo, "alice")
            page.get_by_role("link", name="podinfo", exact=True).click()
            prod = page.locator("#env-prod")
            expect(prod.locator(".held")).to_contain_text("rolled back to 6.1.0 by alice")
            diff = prod.locator("table.diff")
            expect(diff).to_contain_text("prod/podinfo.yaml")
            expect(diff.locator("tbody tr td").nth(1)).to_have_text("6.2.0")
            expect(diff.locator("tbody tr td").nth(2)).to_have_text("6.1.0")
            page.screenshot(path=tmp_path / "rollback-waits-for-approval.png", full_page=True)
            prod.get_by_label("Comment for prod 6.1.0").fill("back to the last good one")
            page.get_by_role("button", name="Approve 6.1.0").click()
            expect(prod.locator(".revision")).to_have_text("6.1.0", timeout=60_000)
        finally:
            browser.close()
    eventually(lambda: demo.runs("prod", "6.1.0"), what="prod is back on 6.1.0")
    assert demo.prod_commits("6.1.0") == 1  # the rollback's one commit
    history = (demo.pipeline().get("status") or {}).get("history") or []
    assert any(h.get("trigger") == "Rollback" and h.get("phase") == "Succeeded" for h in history)

    demo.release("6.3.0")
    eventually(lambda: demo.runs("staging", "6.3.0"), what="staging runs 6.3.0")
    eventually(lambda: "6.3.0 waits: rolled back to 6.1.0" in pending(demo), what="prod says why")
    why = ferryman(demo, "alice", "why", "podinfo", "--env", "prod")
    assert "rolled back to 6.1.0 by alice" in why and "ferryman unhold" in why
    assert demo.runs("prod", "6.1.0")

    ferryman(demo, "alice", "unhold", "podinfo", "--env", "prod", "--comment", "fixed in 6.3.0")
    eventually(lambda: waits_for(demo, "6.3.0"), what="prod waits for approval of 6.3.0")
    shown = ferryman(demo, "alice", "diff", "podinfo", "--env", "prod")
    assert "prod/podinfo.yaml" in shown and "6.1.0" in shown and "6.3.0" in shown

    # A closed window leaves a gap between the approval and the promotion.
    set_prod_windows(demo, [{"kind": "deny", "schedule": "* * * * *", "duration": "1h"}])
    assert demo.approve_via_api("alice", "6.3.0", "after the fix") == 202
    eventually(lambda: "deny window" in pending(demo), what="the window holds the approved change")
    assert [a["user"] for a in record(demo)["approvals"]] == ["alice"]
    edit_prod_manifest(demo, "6.1.1")
    eventually(lambda: demo.runs("prod", "6.1.1"), what="the hand edit is deployed")
    set_prod_windows(demo, [])
    eventually(lambda: "differs from the one approved" in pending(demo), what="approval voided")
    current = record(demo)
    assert (current["phase"], current.get("approvals") or []) == ("WaitingApproval", [])
    assert current["change"]["lines"][0]["old"] == "6.1.1"
    assert demo.prod_commits("6.3.0") == 0
    assert demo.interrupt() == 0
