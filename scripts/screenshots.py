"""The UI's screenshots in ``docs/``, taken in Chromium from a fresh ``ferryman up`` demo.

``make screenshots`` (or ``python scripts/screenshots.py [--out docs]``) starts ``ferryman up``
in a temporary directory on free ports, releases 6.2.0 and waits until staging runs it (its
smoke check passed) and prod waits for approval. (Staging cannot be soaking a newer release at
the same time: a newer candidate supersedes the waiting promotion, and prod goes back to
Pending.) Signed in as alice (release-managers), it saves:

- ``ui-list.png``: the list, with prod in "Waiting for your approval";
- ``pipeline-page.png``: the pipeline page mid-approval (the README's screenshot);
- ``pipeline-phone.png``: the same page 390 px wide, the whole page.

The browser is Debian's ``chromium`` (``make browser``), never a downloaded one.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from ferryman.embedded import flux

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "/apis/pipelines.weave.works/v1alpha1/namespaces/default/pipelines/podinfo"
PAGE = "/pipelines/default/podinfo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(check: Callable[[], object], what: str, timeout: float = 90.0) -> None:
    """Wait until ``check()`` is truthy, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def demo(state: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``ferryman up`` in ``state``: the UI's address and the demo users' tokens."""
    command = [
        *(sys.executable, "-m", "ferryman", "up", "--dir", str(state)),
        *("--api-port", "0", "--http-port", str(free_port()), "--metrics-port", "0"),
        *("--soak-seconds", "2", "--flux-delay", "0.2", "--flux-interval", "0.1"),
    ]
    log = (state.parent / "ferryman-up.log").open("w")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        banner: list[str] = []
        for line in process.stdout or ():
            banner.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        text = "\n".join(banner)
        found = re.search(r"Web UI:\s+(http://\S+)/", text)
        if found is None:
            raise SystemExit(f"screenshots: ferryman up did not start:\n{text}")
        tokens = dict(re.findall(r"^\s+(\w+)\s+\([^)]*\): (\S+)$", text, re.MULTILINE))
        yield found.group(1), tokens
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def environment(client: flux.KubeClient, name: str) -> dict[str, Any]:
    answer = client.request("GET", PIPELINE)
    found: dict[str, Any] = (answer.body.get("status") or {}).get("environments", {}).get(name, {})
    return found


def release(state: Path, version: str) -> None:
    """``ferryman demo release VERSION``, as CI would run it."""
    subprocess.run(
        [sys.executable, "-m", "ferryman", "demo", "release", version, "--dir", str(state)],
        check=True,
        capture_output=True,
    )


def stage(state: Path) -> None:
    """Staging runs 6.2.0 and prod waits for its approval."""
    client = flux.KubeClient(state / "kubeconfig")

    def runs(env: str, revision: str) -> bool:
        found = environment(client, env)
        return found.get("revision") == revision and bool(found.get("ready"))

    def phase(env: str) -> str:
        return str((environment(client, env).get("promotion") or {}).get("phase", ""))

    eventually(lambda: runs("prod", "6.1.0"), "the demo's first sync")
    release(state, "6.2.0")
    eventually(lambda: runs("staging", "6.2.0"), "staging running 6.2.0")
    eventually(lambda: phase("prod") == "WaitingApproval", "prod waiting for approval of 6.2.0")


def shoot(url: str, token: str, out: Path) -> None:
    """Sign in as alice and save the three screenshots into ``out``."""
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("screenshots: chromium is not installed: run `make browser`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url + "/signin")
            page.get_by_label("Bearer token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("into prod")).to_be_visible()
            settle(page)
            page.screenshot(path=out / "ui-list.png", full_page=True)
            page.goto(url + PAGE)
            expect(page.get_by_role("button", name=re.compile("^Approve "))).to_be_visible()
            settle(page)
            page.screenshot(path=out / "pipeline-page.png", full_page=True)
            phone = browser.new_context(
                viewport={"width": 390, "height": 844},
                storage_state=context.storage_state(),
            ).new_page()
            phone.goto(url + PAGE)
            expect(phone.get_by_role("button", name=re.compile("^Approve "))).to_be_visible()
            settle(phone)
            phone.screenshot(path=out / "pipeline-phone.png", full_page=True)
        finally:
            browser.close()


def settle(page: Page) -> None:
    """Let fonts load and the live region's first update land before the picture (the page
    keeps its event stream open, so there is no network-idle moment to wait for)."""
    page.evaluate("document.fonts.ready")
    page.wait_for_timeout(500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ferryman-shots-") as scratch:
        state = Path(scratch) / "state"
        with demo(state) as (url, tokens):
            stage(state)
            shoot(url, tokens["alice"], args.out)
    for name in ("ui-list.png", "pipeline-page.png", "pipeline-phone.png"):
        print(f"Saved {args.out / name}")


if __name__ == "__main__":
    main()
