"""Fixtures for verification against real components: a Prometheus scraping a test exporter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes import prometheus

from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing

USERS = {"ferryman": "p4ss-for-prometheus-basic-auth"}


@pytest.fixture(scope="module")
def exporter() -> Iterator[prometheus.Exporter]:
    """The shop's metrics: error ratios the tests set."""
    found = prometheus.Exporter().start()
    found.set("shop_error_ratio", 0.001, service="checkout")
    found.set("shop_error_ratio", 0.002, service="cart")
    yield found
    found.stop()


@pytest.fixture(scope="module")
def prom(
    tmp_path_factory: pytest.TempPathFactory, exporter: prometheus.Exporter
) -> Iterator[prometheus.PrometheusServer]:
    """A Prometheus (basic auth for ``USERS``) that has scraped the exporter at least once."""
    workdir = tmp_path_factory.mktemp("prometheus")
    server = prometheus.PrometheusServer(workdir, exporter, users=USERS).start()
    try:
        server.wait(
            lambda: server.scraped('shop_error_ratio{service="checkout"}', 0.001),
            what="the first scrape",
        )
        yield server
    finally:
        server.stop()


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[api_server.EmbeddedApiServer]:
    """One embedded API server ("the cluster")."""
    with testing.serve(tmp_path / "api") as server:
        yield server
