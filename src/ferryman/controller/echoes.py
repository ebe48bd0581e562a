"""The watch echoes of this instance's own status writes, so they are not reconciled again.

A status write comes back through the Pipeline informer as a watch event. When the write carried
a status ``decide()`` computed, that event shows nothing this instance has not already decided
on, and reconciling it again would only cost a pass: ``OwnWrites`` remembers the resourceVersion
of each such write, and the manager skips the event that carries it.

Writes that record a strategy's outcome are *not* remembered: they change the promotion record
but not the conditions derived from it, so their echo must run ``decide()`` again (otherwise
``Ready`` and ``PromotionPending`` would keep describing the intent).
"""

from __future__ import annotations

from ferryman.ports import kubernetes as k8s

Key = tuple[str, str]


def _identity(obj: k8s.JSON) -> tuple[Key, str]:
    meta = obj.get("metadata") or {}
    key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
    return key, str(meta.get("resourceVersion", ""))


class OwnWrites:
    """resourceVersion of this instance's last decided status write, per Pipeline."""

    def __init__(self) -> None:
        self._written: dict[Key, str] = {}

    def remember(self, stored: k8s.JSON) -> None:
        """``stored`` (as the API server returned it) carries a status ``decide()`` computed."""
        key, version = _identity(stored)
        self._written[key] = version

    def is_echo(self, obj: k8s.JSON) -> bool:
        """True when ``obj`` is exactly what this instance last wrote for that Pipeline."""
        key, version = _identity(obj)
        return bool(version) and self._written.get(key) == version

    def forget(self, key: Key) -> None:
        """The Pipeline was deleted."""
        self._written.pop(key, None)
