"""The Grafana dashboard in ``config/grafana/``: a well-formed classic dashboard JSON model whose
every query uses only metrics Ferryman exports (there is no Grafana here to load it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from ferryman.adapters import delivery_metrics
from ferryman.controller import metrics as controller_metrics
from ferryman.server import metrics as server_metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "config" / "grafana").glob("*.json"))
PANEL_TYPES = {"stat", "timeseries", "table", "barchart", "bargauge", "gauge", "text", "row"}
# PromQL words that are not metric names.
FUNCTIONS = {
    "histogram_quantile", "sum", "rate", "increase", "irate", "avg", "max", "min", "count",
    "topk", "bottomk", "clamp_min", "clamp_max", "label_values", "vector", "scalar",
}  # fmt: skip
KEYWORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "bool", "offset"}


def exported() -> set[str]:
    """Every sample name Ferryman's registries can serve (with _bucket, _sum, _count, ...)."""
    registry = controller_metrics.Metrics().registry
    server_metrics.HookMetrics(registry)
    server_metrics.RequestMetrics(Starlette(), registry=registry)
    delivery_metrics.PrometheusDeliveryRecorder(registry)
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        suffixes = ["_bucket", "_sum", "_count", "_created"]
        if family.type == "counter":
            suffixes = ["_total", "_created"]
        names.update(family.name + suffix for suffix in suffixes)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r"label_values\(([^,)]+),[^)]*\)", r"\1", expr)  # Grafana: (metric, label)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # label lists
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return words - FUNCTIONS - KEYWORDS


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found.append(variable["query"]["query"])
    return found


def test_there_is_a_dashboard() -> None:
    """config/grafana holds the delivery dashboard."""
    assert [p.name for p in DASHBOARDS] == ["ferryman-delivery.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    """uid, title, schemaVersion; panels with unique ids on the 24-column grid, a Prometheus
    data source from the dashboard's variable, and queries with unique refIds."""
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy")
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"] == panel["datasource"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_uses_only_metrics_ferryman_exports(path: Path) -> None:
    """No query reads a metric Ferryman does not serve (typos, renamed families)."""
    known = exported()
    dashboard = json.loads(path.read_text())
    used: set[str] = set()
    for expr in queries(dashboard):
        names = metric_names(expr)
        assert names, expr
        assert names <= known, f"{expr}: {sorted(names - known)}"
        used |= names
    for family in (
        "ferryman_promotion_lead_time_seconds_bucket",
        "ferryman_approval_wait_seconds_bucket",
        "ferryman_promotion_duration_seconds_bucket",
        "ferryman_promotion_outcomes_total",
    ):
        assert family in used


def test_the_checker_finds_unknown_metrics() -> None:
    """The name extraction is not vacuous."""
    assert metric_names('sum by (le) (rate(foo_bucket{a="b"}[5m]))') == {"foo_bucket"}
    assert "nope_total" not in exported()
