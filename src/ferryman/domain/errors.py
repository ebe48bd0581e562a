"""Errors of the promotion boundary, with their retry meaning in the type.

    PromotionError                 anything a strategy raises
    ├── TemporaryError(delay)      try again later (5xx, timeouts, rate limits); delay is a hint
    ├── PermanentError(reason)     retrying cannot help (bad credentials, no marker, 404, 422)
    └── ChangeDiffers(change)      the approvals were for another change: wait for them again

Adapters translate library errors into these (``raise ... from exc``); the domain decides what a
failure means for the promotion record (``outcomes.record_failure``). Messages never carry secrets.
"""

from __future__ import annotations

from datetime import timedelta

from ferryman.api import status


class PromotionError(Exception):
    """A promotion attempt did not complete."""

    def __init__(self, message: str, *, reason: str = "PromotionFailed") -> None:
        super().__init__(message)
        self.reason = reason


class TemporaryError(PromotionError):
    """The attempt may succeed later; ``delay`` is the earliest sensible retry (Retry-After)."""

    def __init__(
        self, message: str, *, delay: timedelta | None = None, reason: str = "TemporaryFailure"
    ) -> None:
        super().__init__(message, reason=reason)
        self.delay = delay


class PermanentError(PromotionError):
    """Retrying the same promotion cannot succeed until something outside changes."""


class ChangeDiffers(PromotionError):
    """The change to make is not the one the approvals were given for: they are void and the
    environment waits again, showing ``change`` (nothing was committed)."""

    def __init__(self, message: str, *, change: status.ChangeSummary) -> None:
        super().__init__(message, reason="ChangeDiffers")
        self.change = change
