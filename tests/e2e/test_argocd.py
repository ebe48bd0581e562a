"""``ferryman up --app-kind argocd``: the demo with Argo CD Applications, end to end.

The local Argo CD writes its statuses through Argo CD's own Application CRD (passed with
``--crds``, so the embedded API validates every one); the story is the demo's — release, staging
takes it by itself, prod waits for approval, approve, release again — and afterwards ``/metrics``
serves the four delivery families with non-zero counts, and the pipeline page shows the timeline
in Chromium, readable at phone width. With ``FERRYMAN_DOCS_SCREENSHOTS=1`` the timeline's
screenshot is written to ``docs/timeline.png`` (how the one in the docs was made).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from prometheus_client.parser import text_string_to_metric_families
from tests import fixtures
from tests.e2e.conftest import CHROMIUM_ARGS, FAST, ROOT, Demo, chromium_path, eventually
from tests.e2e.test_demo import sign_in

APPLICATIONS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/podinfo"
DOCS = bool(os.environ.get("FERRYMAN_DOCS_SCREENSHOTS"))
PAUSE = 6.0 if DOCS else 0.0  # for the docs: an approver who takes a few seconds


def argo_crds(tmp_path: Path) -> Path:
    """A directory with Argo CD's Application CRD, for ``--crds``."""
    directory = tmp_path / "crds"
    directory.mkdir()
    raw = gzip.decompress(fixtures.raw("argocd/applications.argoproj.io-crd.yaml.gz"))
    (directory / "applications.argoproj.io.yaml").write_bytes(raw)
    return directory


def scrape(url: str) -> dict[str, float]:
    """Every sample of ``/metrics`` as ``name{label=value,...}`` → value."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our loopback server
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def ship(demo: Demo, version: str) -> None:
    """Release ``version``, let staging take it, approve it for prod, wait until prod runs it."""
    demo.release(version)
    eventually(lambda: demo.runs("staging", version), what=f"staging runs {version}")
    eventually(
        lambda: (
            demo.phase("prod") == "WaitingApproval"
            and demo.environment("prod")["promotion"]["revision"] == version
        ),
        what=f"prod waits for approval of {version}",
    )
    time.sleep(PAUSE)
    assert demo.approve_via_api("alice", version, "ship it") == 202
    eventually(lambda: demo.runs("prod", version), what=f"prod runs {version}")
    eventually(lambda: demo.phase("prod") == "Succeeded", what=f"{version} succeeds in prod")


def test_the_demo_story_with_argo_cd_applications(
    make_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """Applications carry the revision; the story runs as with Flux; the metrics count it."""
    crds = str(argo_crds(tmp_path))
    demo = make_demo(*FAST, "--soak-seconds", "1", "--app-kind", "argocd", "--crds", crds)
    eventually(lambda: demo.runs("prod", "6.1.0"), what="the first sync of the demo")
    app = demo.client().request("GET", APPLICATIONS.format(ns="prod")).body
    assert app["status"]["sync"] == app["status"]["sync"] | {
        "status": "Synced",
        "revision": "6.1.0",
    }
    assert app["status"]["health"]["status"] == "Healthy"
    pipeline = demo.pipeline()
    assert pipeline["spec"]["appRef"]["kind"] == "Application"

    ship(demo, "6.2.0")
    ship(demo, "6.3.0")
    app = demo.client().request("GET", APPLICATIONS.format(ns="prod")).body
    assert [h["revision"] for h in app["status"]["history"]][-2:] == ["6.2.0", "6.3.0"]
    assert demo.prod_commits("6.3.0") == 1

    match = re.search(r"Metrics:\s+(http://\S+)", "\n".join(demo.banner))
    assert match is not None, demo.banner
    samples = scrape(match.group(1))
    for environment in ("staging", "prod"):
        labels = f"environment={environment}"
        assert samples[f"ferryman_promotion_lead_time_seconds_count{{{labels}}}"] >= 2
        assert samples[f"ferryman_promotion_duration_seconds_count{{{labels}}}"] >= 2
        succeeded = f"ferryman_promotion_outcomes_total{{{labels},outcome=Succeeded}}"
        assert samples[succeeded] >= 2
    assert samples["ferryman_approval_wait_seconds_count{environment=prod}"] == 2
    look_at_the_timeline(demo, tmp_path / "screenshots")
    assert demo.interrupt() == 0


def look_at_the_timeline(demo: Demo, shots: Path) -> None:
    """The chart and its words on the pipeline page, on a desktop and on a phone."""
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, demo, "alice")
            page.get_by_role("link", name="podinfo", exact=True).click()
            section = page.locator("section.timeline")
            expect(section.get_by_role("img")).to_be_visible()
            expect(section.locator(".lead-times")).to_contain_text("6.3.0 reached prod")
            expect(section.locator(".lead-times")).to_contain_text("waiting for approval")
            assert section.locator("rect").count() >= 9
            section.screenshot(path=shots / "timeline.png")
            page.set_viewport_size({"width": 390, "height": 844})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, "the timeline makes the page scroll sideways at phone width"
            chart = section.locator("svg").bounding_box()
            assert chart is not None and chart["width"] <= 390
            section.screenshot(path=shots / "timeline-phone.png")
        finally:
            browser.close()
    if DOCS:
        shutil.copyfile(shots / "timeline.png", ROOT / "docs" / "timeline.png")
        shutil.copyfile(shots / "timeline-phone.png", ROOT / "docs" / "timeline-phone.png")
