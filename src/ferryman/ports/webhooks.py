"""The webhook port: one HTTP POST of a verification check's signed payload.

The controller builds the request (payload, signature, delivery key) and judges the answer; the
adapter (``adapters/webhooks.py``) only sends it, bounded in time and size, and never follows a
redirect (a signed payload must reach the address the spec names, and nothing else).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class WebhookCall:
    """What to send: ``body`` (JSON) to ``url`` with ``headers``, within ``timeout`` seconds."""

    url: str
    body: bytes
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True)
class WebhookAnswer:
    """The status code and the start of the body (at most a few hundred characters)."""

    status: int
    body: str = ""


class WebhookSender(Protocol):
    """Sends webhook calls."""

    async def send(self, call: WebhookCall) -> WebhookAnswer:
        """POST ``call`` and return the answer, whatever its status code.

        Raises ``domain.errors.TemporaryError`` when the server cannot be reached or does not
        answer within ``call.timeout``, and ``PermanentError`` when its TLS certificate cannot be
        verified. Messages name the host, never a header value.
        """
        ...
