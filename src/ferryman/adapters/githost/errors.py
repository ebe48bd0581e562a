"""Translate hosting-API answers into ``domain.errors``: the retry meaning lives in the type.

    HTTP answer                                  raised as
    ───────────────────────────────────────────  ───────────────────────────────────────────────
    429; 403 with Retry-After or no quota left   TemporaryError(reason="RateLimited", delay)
    5xx, 408, 409                                TemporaryError(reason="ProviderUnavailable"
                                                 or "Conflict", delay from Retry-After)
    timeout, connection failure                  TemporaryError("ProviderTimeout" /
                                                 "ProviderUnavailable")   (see ``http``)
    401                                          PermanentError(reason="CredentialsInvalid")
    403                                          PermanentError(reason="PermissionDenied")
    404                                          PermanentError(reason="RepositoryNotFound")
    400, 422                                     PermanentError(reason="ValidationFailed")
    other 4xx                                    PermanentError(reason="RequestRejected")

The delay comes from ``Retry-After`` (seconds or an HTTP date) or a rate-limit reset header
(``X-RateLimit-Reset``/``RateLimit-Reset``, epoch seconds). Messages quote the provider's own
explanation, bounded and scrubbed of the token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from email import utils as email_utils
from typing import Any, Final

import httpx

from ferryman.adapters import gitcredentials
from ferryman.domain import errors

# A rate-limited answer without any hint still needs a pause longer than a plain backoff.
DEFAULT_RATE_LIMIT_DELAY: Final = timedelta(seconds=60)
MAX_DETAIL: Final = 300
_PERMANENT_REASONS: Final = {
    401: "CredentialsInvalid",
    403: "PermissionDenied",
    404: "RepositoryNotFound",
    400: "ValidationFailed",
    422: "ValidationFailed",
}


def from_response(
    response: httpx.Response, *, provider: str, now: float, secrets: Iterable[str]
) -> errors.PromotionError | None:
    """The error ``response`` means, or ``None`` for a success (2xx)."""
    status = response.status_code
    if status < 300:
        return None
    request = response.request
    what = f"{provider} API answered {status} to {request.method} {request.url.path}"
    detail = gitcredentials.scrub(_detail(response), secrets)
    message = f"{what}: {detail}" if detail else what
    if is_rate_limited(response):
        hinted = retry_delay(response, now=now) or DEFAULT_RATE_LIMIT_DELAY
        return errors.TemporaryError(message, delay=hinted, reason="RateLimited")
    if status >= 500 or status == 408:
        delay = retry_delay(response, now=now)
        return errors.TemporaryError(message, delay=delay, reason="ProviderUnavailable")
    if status == 409:
        return errors.TemporaryError(message, reason="Conflict")
    reason = _PERMANENT_REASONS.get(status, "RequestRejected")
    return errors.PermanentError(message, reason=reason)


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or GitHub's way: 403 with ``Retry-After`` or ``X-RateLimit-Remaining: 0``."""
    if response.status_code == 429:
        return True
    headers = response.headers
    return response.status_code == 403 and (
        "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    )


def retry_delay(response: httpx.Response, *, now: float) -> timedelta | None:
    """How long the provider asked us to wait, if it said so."""
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        value = retry_after.strip()
        if value.isdigit():
            return timedelta(seconds=int(value))
        try:
            when = email_utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return timedelta(seconds=max(0.0, when.timestamp() - now))
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        reset = headers.get(name, "").strip()
        if reset.isdigit():
            return timedelta(seconds=max(0.0, int(reset) - now))
    return None


def _detail(response: httpx.Response) -> str:
    """The provider's explanation (``message``, ``error``, first ``errors`` entry), bounded."""
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return response.text.strip()[:MAX_DETAIL]
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
        listed = body.get("errors")
        if isinstance(listed, list) and listed:
            first = listed[0]
            text = first.get("message") if isinstance(first, dict) else first
            if isinstance(text, str) and text:
                parts.append(text)
    return "; ".join(parts)[:MAX_DETAIL]
