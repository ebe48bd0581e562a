"""``ports.promotion.EventReceiver`` over HTTP: POST an event to notification-controller.

The policy is fluxcd/pkg ``runtime/events`` ``Recorder`` (a go-retryablehttp client): a POST of
``application/json`` with a 5 s timeout per attempt; connection errors and 5xx (but 501) are
retried with exponential backoff (1 s doubling, at most 30 s, ``Retry-After`` honoured on 503),
at most 4 times; a 429 is notification-controller's duplicate filter saying the event is there
already, so it counts as delivered; any other 4xx is permanent. Each attempt sends the same
bytes. When the retries run out the error is temporary: the controller tries the whole promotion
again later (``domain.outcomes``), which sends the same bytes once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import httpx

from ferryman.domain import errors

RETRIES: Final = 4  # go-retryablehttp's RetryMax
WAIT_MIN: Final = 1.0  # RetryWaitMin, seconds
WAIT_MAX: Final = 30.0  # RetryWaitMax, seconds
TIMEOUT: Final = 5.0  # the recorder's per-request timeout, seconds
DUPLICATE: Final = 429  # notification-controller's answer to an event it already has


class FluxEventReceiver:
    """Delivers event bodies to ``address`` (the ``--events-addr``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        address: str,
        *,
        retries: int = RETRIES,
        wait_min: float = WAIT_MIN,
        wait_max: float = WAIT_MAX,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.address = address
        self._retries = retries
        self._wait_min = wait_min
        self._wait_max = wait_max
        self._sleep = sleep

    async def post(self, body: bytes) -> None:
        """Send ``body`` until the receiver holds it (see the module doc)."""
        last, hint = "", ""
        for attempt in range(self._retries + 1):
            if attempt:
                await self._sleep(self._wait(attempt, hint))
            try:
                response = await self._client.post(
                    self.address,
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=TIMEOUT,
                )
            except httpx.HTTPError as exc:
                last, hint = type(exc).__name__ + (f": {exc}" if str(exc) else ""), ""
                continue
            status = response.status_code
            if 200 <= status < 300 or status == DUPLICATE:
                return
            if status < 500 or status == 501:
                raise errors.PermanentError(
                    f"Flux's event receiver {self.address} refused the Promote event with "
                    f"HTTP {status}",
                    reason="EventRejected",
                )
            last = f"HTTP {status}"
            hint = response.headers.get("retry-after", "") if status == 503 else ""
        raise errors.TemporaryError(
            f"could not deliver the Promote event to Flux's event receiver {self.address} "
            f"after {self._retries + 1} attempts: {last}",
            reason="EventReceiverUnavailable",
        )

    def _wait(self, attempt: int, retry_after: str) -> float:
        """go-retryablehttp's DefaultBackoff: min * 2^(attempt-1), capped; a 503's Retry-After
        (in seconds) wins when it gives one."""
        if retry_after.isdigit():
            return min(float(retry_after), self._wait_max)
        return float(min(self._wait_min * 2 ** (attempt - 1), self._wait_max))
