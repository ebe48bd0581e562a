"""``prometheus`` checks: one measurement of a PromQL query, with the credentials of its Secret.

The threshold is judged by the domain (``findings``); this module only reads the Secret
(``token`` for a bearer token, or ``username``/``password``; ``ca.crt`` for a private CA) and asks
the metrics port for the value.
"""

from __future__ import annotations

from ferryman.api import pipeline
from ferryman.api import verification as checks
from ferryman.domain import findings
from ferryman.ports import metrics, promotion


def credentials(data: dict[str, bytes]) -> metrics.MetricsCredentials:
    """The credentials in a Secret's decoded data (unknown keys are ignored)."""

    def text(key: str) -> str | None:
        value = data.get(key)
        return value.decode("utf-8").strip("\r\n") if value else None

    return metrics.MetricsCredentials(
        token=text("token"), username=text("username"), password=text("password"), ca=text("ca.crt")
    )


async def measure(
    source: metrics.MetricsSource,
    secrets: promotion.SecretReader,
    subject: pipeline.Pipeline,
    spec: checks.PrometheusCheck,
) -> findings.Sample:
    """One measurement of ``spec``'s query (raises the port's errors)."""
    found = metrics.MetricsCredentials()
    if spec.secret_ref is not None:
        found = credentials(await secrets.read(subject.metadata.namespace, spec.secret_ref.name))
    query = metrics.MetricsQuery(address=spec.address, query=spec.query, credentials=found)
    return findings.Sample(await source.query(query))
