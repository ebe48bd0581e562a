"""Semantic validation of built-in kinds (kubernetes ``pkg/apis/<group>/validation``).

Filled in per kind below.
"""

from __future__ import annotations

from typing import Any

from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType


def validate(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None
) -> list[StatusCause]:
    """Causes for everything the kind's Go validation refuses."""
    del rt, obj, old
    return []
