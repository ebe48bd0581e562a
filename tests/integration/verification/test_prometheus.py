"""``prometheus`` checks against a real Prometheus (Debian's package) scraping an exporter the
test controls: the adapter's answers, its errors, credentials, and a whole check through the
reconciler — the error rate stays low and the check passes, then rises and the next revision
fails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.fakes import prometheus as fake_prometheus
from tests.integration.verification.conftest import USERS
from tests.unit.controller import story

from ferryman.adapters import prometheus
from ferryman.api import conditions
from ferryman.domain import errors
from ferryman.ports import metrics

CHECKOUT = 'shop_error_ratio{service="checkout"}'
[(USER, PASSWORD)] = USERS.items()


@pytest.fixture
async def source() -> AsyncIterator[prometheus.PrometheusSource]:
    async with httpx.AsyncClient() as client:
        yield prometheus.PrometheusSource(client, timeout=10)


def ask(
    prom: fake_prometheus.PrometheusServer, query: str, **credentials: str
) -> metrics.MetricsQuery:
    """``query`` with the test user's credentials (or the ones given)."""
    given = credentials or {"username": USER, "password": PASSWORD}
    return metrics.MetricsQuery(
        address=prom.url, query=query, credentials=metrics.MetricsCredentials(**given)
    )


async def test_a_query_gives_the_scraped_value_and_follows_the_exporter(
    prom: fake_prometheus.PrometheusServer,
    exporter: fake_prometheus.Exporter,
    source: prometheus.PrometheusSource,
) -> None:
    """A one-series vector and a scalar both give one number; a new value after a scrape."""
    assert await source.query(ask(prom, CHECKOUT)) == 0.001
    assert await source.query(ask(prom, "sum(shop_error_ratio)")) == pytest.approx(0.003)
    assert await source.query(ask(prom, "scalar(vector(2))")) == 2.0
    exporter.set("shop_error_ratio", 0.25, service="checkout")
    prom.wait(lambda: prom.scraped(CHECKOUT, 0.25), what="the new value is scraped")
    assert await source.query(ask(prom, CHECKOUT)) == 0.25
    exporter.set("shop_error_ratio", 0.001, service="checkout")
    prom.wait(lambda: prom.scraped(CHECKOUT, 0.001), what="the old value is back")


async def test_answers_that_are_not_one_number_are_refused_in_words(
    prom: fake_prometheus.PrometheusServer, source: prometheus.PrometheusSource
) -> None:
    """Several series: aggregate them (permanent). No series: no data yet (temporary). A query
    Prometheus cannot parse: its own error (permanent). A range vector: not a number."""
    with pytest.raises(errors.PermanentError, match=r"returned 2 series .* aggregate them"):
        await source.query(ask(prom, "shop_error_ratio"))
    with pytest.raises(errors.TemporaryError, match="returned no data"):
        await source.query(ask(prom, 'shop_error_ratio{service="nowhere"}'))
    with pytest.raises(errors.PermanentError, match=r"answered 400: .*parse error") as bad:
        await source.query(ask(prom, "sum(("))
    assert bad.value.reason == "InvalidQuery"
    with pytest.raises(errors.PermanentError, match="returned a matrix, not a number") as ranged:
        await source.query(ask(prom, f"{CHECKOUT}[1m]"))
    assert ranged.value.reason == "InvalidQuery"


async def test_a_prometheus_nobody_listens_on_is_a_temporary_error(
    source: prometheus.PrometheusSource,
) -> None:
    """Connection refused: try again later, naming the host."""
    gone = metrics.MetricsQuery(
        address=f"http://127.0.0.1:{fake_prometheus.free_port()}", query="up"
    )
    with pytest.raises(errors.TemporaryError, match=r"cannot reach Prometheus at 127\.0\.0\.1"):
        await source.query(gone)


async def test_basic_auth_is_sent_and_required(
    prom: fake_prometheus.PrometheusServer, source: prometheus.PrometheusSource
) -> None:
    """Prometheus with basic-auth users (``--web.config.file``): without credentials or with a
    wrong password 401 (permanent, no secret in the message); the Secret's username and
    password give the value; a token is sent as a bearer token (and refused here)."""
    anonymous = metrics.MetricsQuery(address=prom.url, query=CHECKOUT)
    with pytest.raises(errors.PermanentError, match="answered 401") as refused:
        await source.query(anonymous)
    assert refused.value.reason == "CredentialsInvalid"
    assert await source.query(ask(prom, CHECKOUT)) == 0.001
    with pytest.raises(errors.PermanentError) as wrong:
        await source.query(ask(prom, CHECKOUT, username=USER, password="nope"))
    assert PASSWORD not in str(wrong.value) and "nope" not in str(wrong.value)
    with pytest.raises(errors.PermanentError, match="answered 401"):
        await source.query(ask(prom, CHECKOUT, token="a-bearer-token"))


async def test_a_prometheus_check_gates_prod_on_the_error_rate(
    prom: fake_prometheus.PrometheusServer,
    exporter: fake_prometheus.Exporter,
    source: prometheus.PrometheusSource,
) -> None:
    """count 3, interval 1s: 6.1.0 is measured three times below 0.01 and prod asks for
    approval; then the rate rises and 6.2.0 fails staging's check with the measured value."""
    check = {
        "name": "error-rate",
        "prometheus": {
            "address": prom.url,
            "query": CHECKOUT,
            "threshold": "< 0.01",
            "interval": "1s",
            "count": 3,
            "secretRef": {"name": "prometheus-reader"},
        },
    }
    world = story.World(staging_checks=[check])
    world.metrics = source  # type: ignore[assignment]
    world.secrets.data["prometheus-reader"] = {
        "username": USER.encode(),
        "password": PASSWORD.encode(),
    }
    rec = world.reconciler("a")

    async def drive(passes: int) -> None:
        for _ in range(passes):
            await rec.reconcile(story.NS, story.NAME)
            world.flux_catch_up()
            world.clock.advance(1)

    world.release("6.1.0")
    await drive(8)
    assert world.phase("prod") == "WaitingApproval"
    found = world.status().environments["staging"].verification
    assert found is not None and found.revision == "6.1.0"
    measured = found.check("error-rate")
    assert measured is not None
    assert (measured.phase.value, measured.count, measured.value) == ("Passed", 3, "0.001")

    exporter.set("shop_error_ratio", 0.05, service="checkout")
    prom.wait(lambda: prom.scraped(CHECKOUT, 0.05), what="the error rate rises")
    try:
        await world.approve("alice", ("release-managers",), "6.1.0")
        await drive(4)
        world.release("6.2.0")
        await drive(6)
        pending = world.status().condition(conditions.PROMOTION_PENDING)
        assert pending is not None
        assert pending.message == (
            "prod: 6.2.0 failed error-rate in staging: 0.05 is not < 0.01 "
            "(1 of 1 measurements failed)"
        )
    finally:
        exporter.set("shop_error_ratio", 0.001, service="checkout")
