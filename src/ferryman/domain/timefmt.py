"""Kubernetes time formatting: RFC 3339 in UTC with second precision (``metav1.Time``)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """``2026-11-28T16:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate(moment: datetime) -> datetime:
    """``moment`` in UTC without sub-second digits, as Kubernetes stores it."""
    return moment.astimezone(UTC).replace(microsecond=0)
