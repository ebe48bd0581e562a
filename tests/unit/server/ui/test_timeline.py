"""The pipeline page's timeline: layout from status, the SVG on the page, the figures in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.unit.server.ui import test_ui

from ferryman.api import status
from ferryman.server.ui import timeline as ui_timeline

T0 = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
ENVS = ("dev", "staging", "prod")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(env: str, revision: str, minutes: float, **fields: Any) -> status.HistoryEntry:
    return status.HistoryEntry.model_validate(
        {"environment": env, "revision": revision, "phase": "Succeeded", "at": at(minutes)} | fields
    )


STORY = status.PipelineStatus(
    environments={
        "dev": status.EnvironmentStatus(revision="6.2.0", ready=True, ready_since=at(10)),
        "staging": status.EnvironmentStatus(revision="6.2.0", ready=True),
        "prod": status.EnvironmentStatus(revision="6.2.0", ready=True),
    },
    first_seen=(
        status.FirstSeen(revision="6.2.0", at=at(10)),
        status.FirstSeen(revision="6.1.0", at=at(0)),
    ),
    history=(
        entry(
            "prod",
            "6.2.0",
            24,
            approvalRequestedAt=at(12),
            approvedAt=at(20),
            startedAt=at(20),
            replaced="6.1.0",
            by="alice",
        ),
        entry("staging", "6.2.0", 11, startedAt=at(10), replaced="6.1.0"),
    ),
)


def test_a_lead_time_of_zero_counts() -> None:
    """An arrival in the same second as dev's first run is a lead time of 0 s, not none."""
    instant = STORY.model_copy(
        update={"history": (entry("staging", "6.2.0", 10, startedAt=at(10)),)}
    )
    chart = ui_timeline.chart(ENVS, instant)
    assert chart is not None
    assert chart.summary == ("Median lead time to staging: 0 s (1 arrival).",)


def test_nothing_has_run_yet() -> None:
    """No first-seen time, no history: no chart."""
    assert ui_timeline.chart(ENVS, status.PipelineStatus()) is None


def test_layout() -> None:
    """One row per environment; bars inside the time axis; a revision keeps its colour from
    environment to environment; labels only where they fit; the present is open-ended."""
    chart = ui_timeline.chart(ENVS, STORY)
    assert chart is not None
    assert [row.name for row in chart.rows] == list(ENVS)
    for bar in chart.bars:
        assert ui_timeline.LEFT <= bar.x <= ui_timeline.RIGHT
        assert bar.x + bar.width <= ui_timeline.RIGHT + 1.5
    running = [b for b in chart.bars if b.kind == "running"]
    colours = {(b.title.split()[0], b.title.split()[2]): b.colour for b in running}
    assert colours[("dev", "6.2.0")] == colours[("prod", "6.2.0")] != colours[("dev", "6.1.0")]
    assert {b.open for b in running if "6.2.0" in b.title} == {True}
    assert any(b.label == "6.1.0" for b in running)
    waits = [b for b in chart.bars if b.kind == "approval"]
    assert [b.title for b in waits] == [
        "prod waited for approval of 6.2.0 from 15:12:00 to 15:20:00, 8 min (Succeeded)"
    ]
    xs = [tick.x for tick in chart.ticks]
    assert 2 <= len(xs) <= 6 and xs == sorted(xs)
    assert chart.summary == (
        "Median lead time to staging: 1 min (1 arrival).",
        "Median lead time to prod: 14 min (1 arrival).",
    )
    assert chart.sentences[0] == (
        "6.2.0 reached prod 14 min after dev first ran it "
        "(8 min waiting for approval; the promotion took 4 min)."
    )


@pytest.mark.parametrize(
    ("days", "form"),
    [(0.5, r"\d\d:\d\d"), (2, r"[A-Z][a-z]{2} \d\d:\d\d"), (30, r"\d\d [A-Z][a-z]{2}")],
)
def test_axis_labels_suit_the_range(days: float, form: str) -> None:
    """Clock times within a day, weekday and time within days, dates beyond."""
    longer = STORY.model_copy(
        update={"first_seen": (status.FirstSeen(revision="6.0.0", at=at(-days * 1440)),)}
    )
    chart = ui_timeline.chart(ENVS, longer)
    assert chart is not None
    assert all(re.fullmatch(form, tick.label) for tick in chart.ticks), chart.ticks
    assert len(chart.ticks) <= 6


def test_long_environment_names_are_cut_in_the_chart_only() -> None:
    """The row label fits the margin; the full name is the label's title."""
    chart = ui_timeline.chart(("development-eu-west-1",), STORY.model_copy(update={"history": ()}))
    assert chart is not None
    assert chart.rows[0].label == "developm…"
    assert chart.rows[0].name == "development-eu-west-1"


def test_the_page_shows_the_chart_and_its_figures_in_words() -> None:
    """An SVG image with a title and description, the lead times as text beside it, no inline
    style (the CSP forbids it), and nothing on the list page."""
    obj = test_ui.pipeline_object()
    obj["status"]["firstSeen"] = [{"revision": "6.2.0", "at": "2026-11-28T15:50:00Z"}]
    world = test_ui.World(obj)
    with world.client:
        world.sign_in("alice-token")
        page = world.client.get(test_ui.PAGE).text
        fragment = world.client.get(f"/fragments{test_ui.PAGE}").text
        listing = world.client.get("/").text
    assert 'role="img" aria-labelledby="timeline-svg-title timeline-svg-desc"' in page
    assert "<h3>Lead times</h3>" in page
    assert "6.2.0 reached staging 10 min after staging first ran it." in page
    assert " style=" not in page
    assert "timeline-svg-title" in fragment
    assert "timeline" not in listing.lower()
