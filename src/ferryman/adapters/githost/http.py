"""Send hosting-API requests in one place: auth headers, pacing, one overall timeout, errors.

Provider modules build ``Call`` values in pure functions and parse the JSON they get back; only
``Api.send`` touches the network. It takes an injected ``httpx.AsyncClient`` (tests use real local
servers or ``httpx.MockTransport``), bounds every request by a total timeout (``asyncio.timeout``
on top of httpx's per-phase ones, so a server that trickles bytes cannot hold a worker either),
paces content-creating calls per token, and turns failures into ``domain.errors`` via
``githost.errors``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from ferryman.adapters.githost import base
from ferryman.adapters.githost import errors as host_errors
from ferryman.domain import errors

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 30.0


@dataclasses.dataclass(frozen=True)
class Options:
    """Settings every provider's ``Api`` shares."""

    timeout: float = DEFAULT_TIMEOUT  # total seconds per request
    clock: Callable[[], float] = time.time  # wall clock (epoch seconds) for rate-limit resets


@dataclasses.dataclass(frozen=True)
class Call:
    """One API request, relative to the repository's API root (or an absolute ``url``)."""

    method: str
    path: str = ""
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    json: Any = None
    creating: bool = False  # creates or changes content: paced per token
    url: str | None = None  # a pagination link; must stay on the API's origin


class Api:
    """One repository's API root with its credentials."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        provider: str,
        root: str,
        headers: Mapping[str, str],
        token: str,
        pacer: base.Pacer,
        options: Options | None = None,
    ) -> None:
        options = options or Options()
        self.provider = provider
        self.root = root.rstrip("/")
        self._client = client
        self._headers = {"Accept": "application/json", **headers}
        self._secrets = (token,)
        self._pacer = pacer
        # Content-creating calls are paced per (API host, token): that is what hosts rate-limit.
        self._key = base.pacing_key(httpx.URL(self.root).host, token)
        self._timeout = options.timeout
        self._clock = options.clock

    async def send(self, call: Call) -> httpx.Response:
        """Send ``call``; return the 2xx response or raise ``TemporaryError``/``PermanentError``."""
        response = await self.exchange(call)
        self.check(response)
        return response

    async def exchange(self, call: Call) -> httpx.Response:
        """Send ``call`` and return whatever the API answered (paced, bounded, errors translated
        for the transport only); ``check`` classifies the answer."""
        url = self._url(call)
        if call.creating:
            await self._pacer.acquire(self._key)
        else:
            self._pacer.check(self._key)
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.request(
                    call.method,
                    url,
                    params=dict(call.params) or None,
                    json=call.json,
                    headers=self._headers,
                    timeout=self._timeout,
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise errors.TemporaryError(
                f"{self.provider} API did not answer {call.method} {httpx.URL(url).path} "
                f"within {self._timeout:g}s",
                reason="ProviderTimeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise _unreachable(self.provider, httpx.URL(url).host, exc) from exc
        log.debug(
            "Called provider=%s method=%s path=%s status=%d",
            self.provider,
            call.method,
            response.request.url.path,
            response.status_code,
        )
        return response

    def check(self, response: httpx.Response) -> None:
        """Raise the error a non-2xx ``response`` means (holding the token after a rate limit)."""
        error = host_errors.from_response(
            response, provider=self.provider, now=self._clock(), secrets=self._secrets
        )
        if error is None:
            return
        if isinstance(error, errors.TemporaryError) and error.reason == "RateLimited":
            # from_response always gives a rate-limited answer a delay
            self._pacer.hold(self._key, error.delay or host_errors.DEFAULT_RATE_LIMIT_DELAY)
        raise error

    async def json(self, call: Call) -> Any:
        """``send`` and decode the JSON body (a body that is not JSON is a provider fault)."""
        response = await self.send(call)
        try:
            return response.json()
        except ValueError as exc:
            raise errors.TemporaryError(
                f"{self.provider} API answered {call.method} {response.request.url.path} "
                "with a body that is not JSON",
                reason="ProviderUnavailable",
            ) from exc

    def _url(self, call: Call) -> str:
        if call.url is None:
            return self.root + call.path
        # Never send the token to another origin because a pagination link pointed there.
        if httpx.URL(call.url).copy_with(path="/", query=None) != httpx.URL(self.root).copy_with(
            path="/", query=None
        ):
            raise errors.TemporaryError(
                f"{self.provider} API sent a pagination link to another host",
                reason="ProviderUnavailable",
            )
        return call.url


def _unreachable(provider: str, host: str, exc: httpx.HTTPError) -> errors.PromotionError:
    """A connection failure: permanent when the server's certificate cannot be verified."""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return errors.PermanentError(
            f"the {provider} API at {host} presented a TLS certificate that could not be "
            "verified; if a private certificate authority signed it, put that CA certificate in "
            'the credentials Secret as "ca.crt"',
            reason="CertificateUnverifiable",
        )
    return errors.TemporaryError(
        f"could not reach the {provider} API at {host}: {type(exc).__name__}",
        reason="ProviderUnavailable",
    )
