"""docs/metrics.md quotes the series counts ``bench.delivery_series`` computes, and names every
delivery family."""

from __future__ import annotations

from pathlib import Path

from bench import delivery_series

from ferryman.adapters import delivery_metrics

DOC = (Path(__file__).resolve().parents[3] / "docs" / "metrics.md").read_text()


def test_series_counts_in_the_doc_are_what_the_registry_serves() -> None:
    """Per pipeline-set of labels the count is constant; with the flag it grows linearly."""
    per_fleet = delivery_series.series(1, per_pipeline=False)
    assert delivery_series.series(3, per_pipeline=False) == per_fleet
    assert delivery_series.series(3, per_pipeline=True) == 3 * per_fleet
    row = f"| 1,000 | {per_fleet} | {1000 * per_fleet:,} |"
    assert row in DOC
    assert f"({per_fleet // len(delivery_series.ENVIRONMENTS)} series each)" in DOC


def test_every_delivery_family_is_documented() -> None:
    """The table names each family the recorder exports."""
    for name in (*delivery_metrics.NAMES.values(), delivery_metrics.OUTCOMES):
        assert f"`{name}`" in DOC
