"""``MetricsSource`` over Prometheus' HTTP API: ``GET <address>/api/v1/query?query=<PromQL>``.

Answers, as prometheus/prometheus ``docs/querying/api.md`` documents them: ``{"status":
"success", "data": {"resultType": ..., "result": ...}}`` — a ``scalar`` is ``[<time>,
"<value>"]``, a ``vector`` a list of ``{"metric": {...}, "value": [<time>, "<value>"]}`` — or
``{"status": "error", "errorType": ..., "error": ...}`` with 400 (bad parameters), 422 (the
expression cannot be executed) or 503 (timed out or aborted). Sample values are strings
(``"NaN"``, ``"+Inf"`` included).

Here: a scalar or a one-series vector gives a value; no series is a temporary error (nothing
scraped yet), several series a permanent one (the query must aggregate, e.g. ``sum(...)``);
400/422 and 401/403 are permanent, 503, other 5xx, timeouts and connection errors temporary.
Credentials (bearer token or basic auth) go to HTTPS or loopback addresses only; messages name
the host, never a credential. A Secret's ``ca.crt`` gets a client that trusts it (one per CA).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable
from typing import Any, Final
from urllib import parse

import httpx

from ferryman.api import check_rules
from ferryman.domain import errors
from ferryman.ports import metrics

DEFAULT_TIMEOUT: Final = 30.0
ClientFactory = Callable[[str], httpx.AsyncClient]


def trusting_client(ca: str) -> httpx.AsyncClient:
    """A client that trusts the system's certificate authorities and ``ca`` (PEM)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=ca)
    return httpx.AsyncClient(verify=context)


def url(address: str) -> str:
    """The query endpoint under ``address`` (which may carry a path prefix)."""
    return address.rstrip("/") + "/api/v1/query"


def headers(credentials: metrics.MetricsCredentials, address: str) -> dict[str, str]:
    """Authentication headers; refused for plain HTTP off loopback."""
    if not (credentials.token or credentials.username):
        return {}
    problem = check_rules.secure_url(address)
    if problem:
        raise errors.PermanentError(
            f"credentials are not sent to {_host(address)} over plain http://",
            reason="InsecureAddress",
        )
    if credentials.token:
        return {"Authorization": f"Bearer {credentials.token}"}
    basic = httpx.BasicAuth(credentials.username or "", credentials.password or "")
    request = basic.auth_flow(httpx.Request("GET", address))
    return {"Authorization": next(request).headers["Authorization"]}


def _host(address: str) -> str:
    return parse.urlsplit(address).netloc.rpartition("@")[2] or address


def value(data: Any, *, host: str) -> float:
    """The one number of a successful answer's ``data`` (see the module docstring)."""
    kind = data.get("resultType") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return _number(result[1], host)
    if kind == "vector" and isinstance(result, list):
        if not result:
            raise errors.TemporaryError(
                f"the query returned no data from {host} (no series yet)", reason="NoData"
            )
        if len(result) > 1:
            raise errors.PermanentError(
                f"the query returned {len(result)} series from {host}; aggregate them to one "
                "(e.g. with sum())",
                reason="InvalidQuery",
            )
        sample = result[0].get("value") if isinstance(result[0], dict) else None
        if isinstance(sample, list) and len(sample) == 2:
            return _number(sample[1], host)
    raise errors.PermanentError(
        f"the query returned a {kind or 'malformed result'}, not a number, from {host}",
        reason="InvalidQuery",
    )


def _number(text: Any, host: str) -> float:
    try:
        return float(str(text))
    except ValueError as exc:
        raise errors.PermanentError(f"{host} answered a sample that is not a number") from exc


def failure(response: httpx.Response, *, host: str) -> errors.PromotionError:
    """The error a non-2xx answer means."""
    code = response.status_code
    try:
        said = str(response.json().get("error") or "")[:200]
    except (ValueError, AttributeError):
        said = ""
    detail = f"Prometheus at {host} answered {code}" + (f": {said}" if said else "")
    if code in (400, 422):
        return errors.PermanentError(detail, reason="InvalidQuery")
    if code in (401, 403):
        return errors.PermanentError(detail, reason="CredentialsInvalid")
    return errors.TemporaryError(detail, reason="MetricsUnavailable")


class PrometheusSource:
    """Queries Prometheus-compatible HTTP APIs (implements ``ports.metrics.MetricsSource``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client_for_ca: ClientFactory = trusting_client,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._client_for_ca = client_for_ca
        self._ca_clients: dict[str, httpx.AsyncClient] = {}

    def _client_for(self, ca: str | None) -> httpx.AsyncClient:
        if not ca:
            return self._client
        key = hashlib.sha256(ca.encode("utf-8")).hexdigest()
        if key not in self._ca_clients:
            try:
                self._ca_clients[key] = self._client_for_ca(ca)
            except ssl.SSLError as exc:
                raise errors.PermanentError(
                    'the "ca.crt" of the Prometheus Secret is not a PEM certificate',
                    reason="CredentialsInvalid",
                ) from exc
        return self._ca_clients[key]

    async def query(self, request: metrics.MetricsQuery) -> float:
        host = _host(request.address)
        client = self._client_for(request.credentials.ca)
        sent = {"Accept": "application/json", **headers(request.credentials, request.address)}
        try:
            response = await client.get(
                url(request.address),
                params={"query": request.query},
                headers=sent,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise errors.TemporaryError(
                f"Prometheus at {host} did not answer within {self._timeout:g}s",
                reason="MetricsUnavailable",
            ) from exc
        except httpx.HTTPError as exc:
            raise errors.TemporaryError(
                f"cannot reach Prometheus at {host}: {type(exc).__name__}",
                reason="MetricsUnavailable",
            ) from exc
        if response.status_code != 200:
            raise failure(response, host=host)
        try:
            body = response.json()
        except ValueError as exc:
            raise errors.TemporaryError(f"{host} answered with a body that is not JSON") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            raise failure(response, host=host)
        return value(body.get("data"), host=host)

    async def aclose(self) -> None:
        """Close the clients made for CAs (the shared one belongs to whoever passed it)."""
        for client in self._ca_clients.values():
            await client.aclose()
        self._ca_clients.clear()
