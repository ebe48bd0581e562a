"""Every page opens with a skip link to ``#main`` and, inside the pipelines, a breadcrumb whose
last item is the current page (``aria-current="page"``)."""

from __future__ import annotations

import re

import pytest
from tests.unit.server.ui.test_ui import PAGE, World, pipeline_object

from ferryman.server.ui import crumbs

NAV = re.compile(r'<nav aria-label="Breadcrumb" class="crumbs">(.*?)</nav>', re.DOTALL)
ITEM = re.compile(r'<li><a href="([^"]*)"( aria-current="page")?>([^<]*)</a></li>')


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", [("/", True, "Pipelines")]),
        (PAGE, [("/", False, "Pipelines"), (PAGE, True, "default/podinfo")]),
        (
            "/pipelines/default/missing",
            [("/", False, "Pipelines"), ("/pipelines/default/missing", True, "default/missing")],
        ),
    ],
    ids=["list", "pipeline page", "404 page of a missing pipeline"],
)
def test_pages_show_a_breadcrumb_ending_at_the_current_page(
    path: str, expected: list[tuple[str, bool, str]]
) -> None:
    """One breadcrumb per page; only its last item is marked as the current page."""
    w = World(pipeline_object())
    with w.client:
        w.sign_in("alice-token")
        text = w.client.get(path).text
        navs = NAV.findall(text)
        assert len(navs) == 1, text
        items = [(url, bool(current), label) for url, current, label in ITEM.findall(navs[0])]
        assert items == expected


def test_history_crumb_follows_the_pipeline() -> None:
    """The Git history page: Pipelines, then ns/name, then History (current)."""
    found = crumbs.trail(f"{PAGE}/history", {"namespace": "default", "name": "podinfo"})
    assert [(c.label, c.url, c.current) for c in found] == [
        ("Pipelines", "/", False),
        ("default/podinfo", PAGE, False),
        ("History", f"{PAGE}/history", True),
    ]


def test_sign_in_has_a_skip_link_and_no_breadcrumb() -> None:
    """The skip link is the first element of the body and targets the focusable ``main``."""
    w = World(pipeline_object())
    with w.client:
        text = w.client.get("/signin").text
        body = text.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip" href="#main">Skip to main content</a>')
        assert '<main id="main" tabindex="-1">' in text
        assert not NAV.search(text)
