"""Defaulting of built-in kinds: the ``SetDefaults_*`` functions a cluster applies on every write.

Filled in per kind below; kinds without an entry are stored as decoded.
"""

from __future__ import annotations

from typing import Any

from ferryman.embedded.apiserver.registry import ResourceType


def apply(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Default ``obj`` in place."""
    del rt, obj, old
