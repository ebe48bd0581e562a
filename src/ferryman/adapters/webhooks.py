"""``WebhookSender`` over httpx: one POST, no redirects, bounded in time and in what is read.

The URL is checked again here (``https://``, or ``http://`` to 127.0.0.1/::1 only): a signed
payload never crosses a network in clear text, whatever reached the controller. At most
``MAX_READ`` bytes of the answer are read; its status code and their start are what the check
judges. A certificate that cannot be verified is a permanent error (retrying cannot fix it);
other transport failures and timeouts are temporary.
"""

from __future__ import annotations

import asyncio
from typing import Final
from urllib import parse

import httpx

from ferryman.api import check_rules
from ferryman.domain import errors
from ferryman.ports import webhooks

MAX_READ: Final = 4096


def _host(url: str) -> str:
    return parse.urlsplit(url).netloc.rpartition("@")[2] or "the webhook"


class HttpWebhookSender:
    """Sends verification webhooks (implements ``ports.webhooks.WebhookSender``)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, call: webhooks.WebhookCall) -> webhooks.WebhookAnswer:
        host = _host(call.url)
        problem = check_rules.secure_url(call.url)
        if problem:
            raise errors.PermanentError(f"the webhook URL {problem}", reason="InsecureAddress")
        request = self._client.build_request(
            "POST", call.url, content=call.body, headers=dict(call.headers), timeout=call.timeout
        )
        try:
            async with asyncio.timeout(call.timeout):
                response = await self._client.send(request, stream=True, follow_redirects=False)
                try:
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) >= MAX_READ:
                            break
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise errors.TemporaryError(
                f"{host} did not answer within {call.timeout:g}s", reason="WebhookUnavailable"
            ) from exc
        except httpx.HTTPError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise errors.PermanentError(
                    f"{host} presented a TLS certificate that could not be verified",
                    reason="CertificateUnverifiable",
                ) from exc
            raise errors.TemporaryError(
                f"cannot reach {host}: {type(exc).__name__}", reason="WebhookUnavailable"
            ) from exc
        text = body[:MAX_READ].decode("utf-8", errors="replace")
        return webhooks.WebhookAnswer(status=response.status_code, body=text)
