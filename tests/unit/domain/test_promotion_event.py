"""The promotion event's bytes are what Go's ``json.Marshal`` writes for fluxcd/pkg's Event.

The expected bytes were produced by Go's own encoder (``tests/fixtures/flux/events/generate.go``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tests import fixtures

from ferryman.domain import promotion_event

PROMOTION = promotion_event.Promotion(
    namespace="default",
    name="podinfo",
    uid="uid-1",
    environment="prod",
    revision="6.6.1+0cc9a8446c95",
    version="6.6.1",
    key="4f6d3ad1b2c3e4f5",
    started_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
)


def test_the_event_is_byte_for_byte_what_go_marshals() -> None:
    """Field order, sorted metadata keys, RFC 3339 UTC timestamp, no spaces."""
    assert promotion_event.encode(PROMOTION) == fixtures.raw("flux/events/pipeline-promote.json")


def test_strings_are_escaped_as_go_escapes_them() -> None:
    """HTML characters, U+2028, control characters; a missing time marshals as null."""
    odd = '1.0<&>\u2028\x01"\\\t\x7f'
    promotion = promotion_event.Promotion(
        **{**PROMOTION.__dict__, "revision": odd, "version": odd, "started_at": None}
    )
    expected = fixtures.raw("flux/events/pipeline-promote-escaping.json")
    assert promotion_event.encode(promotion) == expected


def test_the_same_promotion_gives_the_same_bytes_in_any_time_zone() -> None:
    """Bytes depend on the record only: a retry after a crash sends them again unchanged."""
    shifted = PROMOTION.started_at.astimezone(timezone(timedelta(hours=2)))  # type: ignore[union-attr]
    again = promotion_event.Promotion(**{**PROMOTION.__dict__, "started_at": shifted})
    assert promotion_event.encode(again) == promotion_event.encode(PROMOTION)


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    """Go writes invalid UTF-8 as U+FFFD; a Python string's lone surrogate is its equivalent."""
    promotion = promotion_event.Promotion(**{**PROMOTION.__dict__, "environment": "p\udc80"})
    assert '"environment":"p\ufffd"'.encode() in promotion_event.encode(promotion)
