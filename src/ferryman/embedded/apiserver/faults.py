"""Test-only fault injection: answer the next N matching requests with an error, or delay them.

Rules are JSON objects ``{verb, pathRegex, code, count, latencyMs}``; ``verb`` matches the HTTP
method or the Kubernetes verb (``*`` or empty matches all). Served under ``/debug`` only when the
server was started with fault injection enabled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ferryman.embedded.apiserver import errors

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class FaultRule:
    """One injected fault; ``count`` is how many more requests it applies to."""

    verb: str = "*"
    path_regex: str = ".*"
    code: int = 0
    count: int = 1
    latency_ms: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._pattern = re.compile(self.path_regex)
        except re.error as exc:
            raise errors.bad_request(
                f"pathRegex {self.path_regex!r} is not a valid regular expression: {exc}"
            ) from exc
        if self.code and not 400 <= self.code <= 599:
            raise errors.bad_request(
                f"code must be an HTTP error status (400-599), got {self.code}"
            )
        if self.count < 1:
            raise errors.bad_request(f"count must be at least 1, got {self.count}")

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        """Parse a rule from a JSON body (400 when malformed)."""
        if not isinstance(data, dict):
            raise errors.bad_request(
                "a fault rule must be a JSON object {verb, pathRegex, code, count, latencyMs}"
            )
        try:
            return cls(
                verb=str(data.get("verb", "*") or "*"),
                path_regex=str(data.get("pathRegex", ".*")),
                code=int(data.get("code", 0) or 0),
                count=int(data.get("count", 1)),
                latency_ms=int(data.get("latencyMs", 0) or 0),
            )
        except (TypeError, ValueError) as exc:
            raise errors.bad_request(f"invalid fault rule: {exc}") from exc

    def matches(self, method: str, verb: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        wanted = self.verb.lower()
        return (
            wanted in ("*", method.lower(), verb.lower()) and self._pattern.search(path) is not None
        )

    def error(self) -> errors.ApiError:
        """The Status this rule answers with."""
        reason = _REASONS.get(self.code, "InternalError")
        return errors.ApiError(self.code, reason, f"injected fault: {reason} ({self.code})")


class Faults:
    """The active rules, consulted once per request."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Activate ``rule``."""
        self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def take(self, method: str, verb: str, path: str) -> FaultRule | None:
        """The first rule matching the request, consuming one of its uses."""
        for rule in self._rules:
            if rule.matches(method, verb, path):
                rule.count -= 1
                if rule.count <= 0:
                    self._rules.remove(rule)
                return rule
        return None

    def __len__(self) -> int:
        return len(self._rules)
