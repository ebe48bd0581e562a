"""Route families: the few fixed names a request path belongs to, for limits and metrics.

Every path maps to one family by its prefix alone (no routing, no user input kept), so the names
are safe as metric labels and as keys of the per-family limits (``limits``):

- ``webhook``: ``/promotion/…`` and the legacy ``/approval/…`` (unauthenticated or HMAC-only);
- ``api``: ``/api/…``, the approval and read API (bearer tokens);
- ``health``: ``/healthz``, ``/readyz``, ``/livez``, ``/metrics``;
- ``stream``: ``/events/…``, the UI's server-sent event streams (long-lived: their own pool, so
  open pages never take the slots of page views);
- ``ui``: everything else (pages, forms, fragments, static files).
"""

from __future__ import annotations

from typing import Final

WEBHOOK: Final = "webhook"
API: Final = "api"
HEALTH: Final = "health"
UI: Final = "ui"
STREAM: Final = "stream"
ALL: Final = (WEBHOOK, API, HEALTH, UI, STREAM)
_HEALTH_PATHS: Final = frozenset(("/healthz", "/readyz", "/livez", "/metrics"))


def family(path: str) -> str:
    """The family of a request path."""
    if path.startswith(("/promotion/", "/approval/")):
        return WEBHOOK
    if path.startswith("/api/"):
        return API
    if path in _HEALTH_PATHS:
        return HEALTH
    if path.startswith("/events/"):
        return STREAM
    return UI
