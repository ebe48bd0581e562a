"""Reading fields out of untrusted JSON objects (app objects other controllers write).

Nothing here raises on garbage: a missing key, a string where a mapping was expected or an index
past the end of a list all read as ``None``, so the callers turn them into a target's error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``; a list is indexed by a path part of digits (``revisions.0``)."""
    for key in path:
        if isinstance(obj, Mapping):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
    return obj


def text_at(obj: Any, dotted: str) -> str:
    """The string at the dotted path (``.status.sync.revisions.1``), ``""`` when it is none."""
    value = get(obj, *[part for part in dotted.split(".") if part])
    return value if isinstance(value, str) else ""
