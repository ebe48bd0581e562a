"""uvicorn's HTTP protocol (httptools) with a header read timeout, which uvicorn lacks.

A connection that sends part of a request line or headers and then stalls (or trickles one byte at
a time) would otherwise hold a socket and a slot of uvicorn's connection limit for ever: uvicorn
times out only idle keep-alive connections. Here every request's headers must be complete within
``HEADER_TIMEOUT`` seconds of its first byte (of the connection, for the first request), else the
connection is closed. Bodies have their own deadline per route family (``server.limits``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT: Final = 10.0  # seconds for a request line and its headers (DESIGN D6)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that closes a connection whose headers do not arrive in time."""

    header_timeout: float = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
