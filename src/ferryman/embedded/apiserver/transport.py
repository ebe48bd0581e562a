"""uvicorn's llhttp protocol, with the writes of one event-loop step sent as one.

uvicorn writes a response's head and its body to the transport separately, and asyncio sends
each write at once: two TLS records and two ``send`` system calls per GET, the largest single cost
of a small response on this server (docs/performance.md). ``CoalescingProtocol`` wraps each
connection's transport so that everything written during one step of the event loop is joined and
sent once at the end of that step (``call_soon``). Nothing waits longer than that step: a watch
event still leaves as soon as it is written, and a close sends what is buffered first.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport proxy that joins the writes of one loop step (see the module docstring)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer ``data``; the first write of a step schedules the send."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        """Buffer every chunk."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is buffered (once the transport closes, nothing more can be sent)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Send what is buffered, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The proxy answers every Transport method by delegation (``__getattr__``).
        wrapped = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, wrapped))
