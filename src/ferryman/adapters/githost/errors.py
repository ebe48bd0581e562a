"""Translate hosting-API answers into ``domain.errors``: the retry meaning lives in the type.

    HTTP answer                                  raised as
    ───────────────────────────────────────────  ───────────────────────────────────────────────
    429; 403 with Retry-After, no quota left or  TemporaryError(reason="RateLimited", delay;
    a "secondary rate limit" message (GitHub)    at least a minute without a hint)
    5xx, 408                                     TemporaryError(reason="ProviderUnavailable",
                                                 delay from Retry-After)
    409; GitHub's 422 "A pull request already    TemporaryError(reason="Conflict"): the next
    exists"                                      attempt finds the open one and adopts it
    timeout, connection failure                  TemporaryError("ProviderTimeout" /
                                                 "ProviderUnavailable")   (see ``http``)
    401                                          PermanentError(reason="CredentialsInvalid")
    403                                          PermanentError(reason="PermissionDenied")
    404                                          PermanentError(reason="RepositoryNotFound")
    400, 422                                     PermanentError(reason="ValidationFailed")
    other 4xx                                    PermanentError(reason="RequestRejected")

The delay comes from ``Retry-After`` (seconds or an HTTP date) or a rate-limit reset header
(``X-RateLimit-Reset``/``RateLimit-Reset``, epoch seconds). GitHub documents that a secondary
rate limit may answer 403 or 429 with neither header, only a message, and asks to "wait for at
least one minute" (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).
Messages quote the provider's own explanation — strings, lists or field → messages objects, as
GitLab sends them — bounded and scrubbed of the token.
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
# How GitHub words its secondary limits ("You have exceeded a secondary rate limit", formerly
# "abuse detection mechanism"), matched case-insensitively.
_SECONDARY_LIMIT: Final = ("secondary rate limit", "abuse detection")
# GitHub answers a duplicate pull request with 422 and this message, where others answer 409.
_ALREADY_EXISTS: Final = "a pull request already exists"
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
    explanation = _detail(response)
    detail = gitcredentials.scrub(explanation, secrets)
    message = f"{what}: {detail}" if detail else what
    if is_rate_limited(response, explanation):
        hinted = retry_delay(response, now=now) or DEFAULT_RATE_LIMIT_DELAY
        return errors.TemporaryError(message, delay=hinted, reason="RateLimited")
    if status >= 500 or status == 408:
        delay = retry_delay(response, now=now)
        return errors.TemporaryError(message, delay=delay, reason="ProviderUnavailable")
    if status == 409 or (status == 422 and _ALREADY_EXISTS in explanation.lower()):
        return errors.TemporaryError(message, reason="Conflict")
    reason = _PERMANENT_REASONS.get(status, "RequestRejected")
    return errors.PermanentError(message, reason=reason)


def is_rate_limited(response: httpx.Response, explanation: str = "") -> bool:
    """429, or GitHub's ways: 403 with ``Retry-After``, ``X-RateLimit-Remaining: 0`` or a
    message saying a secondary rate limit was exceeded (``explanation``, the provider's text)."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    return any(words in explanation.lower() for words in _SECONDARY_LIMIT)


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
    """The provider's explanation (``message``, ``error``, ``errors`` entries), bounded.

    ``message`` may be a string, a list of strings or an object of field → messages (GitLab:
    ``{"message": {"title": ["can't be blank"]}}``); every form is kept.
    """
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return response.text.strip()[:MAX_DETAIL]
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            parts += _texts(body.get(key))
        listed = body.get("errors")
        if isinstance(listed, list):
            for entry in listed[:3]:
                parts += _texts(entry.get("message") if isinstance(entry, dict) else entry)
    return "; ".join(dict.fromkeys(parts))[:MAX_DETAIL]


def _texts(value: Any, field: str = "") -> list[str]:
    """The strings in ``value``: itself, a list's items, an object's ``field: message`` pairs."""
    prefix = f"{field} " if field else ""
    if isinstance(value, str):
        return [prefix + value] if value else []
    if isinstance(value, list):
        return [text for item in value[:5] for text in _texts(item, field)]
    if isinstance(value, dict):
        return [text for key, item in list(value.items())[:5] for text in _texts(item, str(key))]
    return []
