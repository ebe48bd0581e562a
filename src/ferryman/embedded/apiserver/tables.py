"""Server-side ``Table`` rendering (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

Custom resources get a Name column plus their ``additionalPrinterColumns``; built-ins get the
columns kubectl users expect (NAME/AGE, namespaces STATUS, events LAST SEEN/TYPE/REASON/OBJECT/
MESSAGE). ``date`` cells are rendered as ages, as the apiserver's table convertor does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ferryman.embedded.apiserver.registry import Column, ResourceType

_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating resources.",
    "priority": 0,
}
_AGE = Column(
    "Age",
    "string",
    description=(
        "CreationTimestamp is a timestamp representing the server time when this "
        "object was created."
    ),
)

Cell = Callable[[dict[str, Any], datetime], Any]


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``: 45s, 3m20s, 15m, 4h5m, 2d3h, 400d, 3y20d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(value: Any, now: datetime) -> str:
    """A timestamp rendered as an age; ``<unknown>`` when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return human_duration((now - then).total_seconds())


def _meta_age(obj: dict[str, Any], now: datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"), now)


def _event_last_seen(obj: dict[str, Any], now: datetime) -> str:
    ts = (
        obj.get("lastTimestamp")
        or obj.get("deprecatedLastTimestamp")
        or (obj.get("series") or {}).get("lastObservedTime")
        or obj.get("eventTime")
        or obj.get("metadata", {}).get("creationTimestamp")
    )
    return age(ts, now)


def _event_object(obj: dict[str, Any], now: datetime) -> str:
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _data_count(obj: dict[str, Any], now: datetime) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


_BUILTIN: dict[str, list[tuple[Column, Cell]]] = {
    "/namespaces": [
        (
            Column("Status", description="The status of the namespace"),
            lambda o, n: (o.get("status") or {}).get("phase", ""),
        ),
        (_AGE, _meta_age),
    ],
    "/secrets": [
        (Column("Type", description="The type of the secret"), lambda o, n: o.get("type", "")),
        (
            Column("Data", "integer", description="The number of entries in the secret data"),
            _data_count,
        ),
        (_AGE, _meta_age),
    ],
    "/configmaps": [
        (Column("Data", "integer", description="The number of entries in the data"), _data_count),
        (_AGE, _meta_age),
    ],
    "/events": [
        (Column("Last Seen"), _event_last_seen),
        (Column("Type"), lambda o, n: o.get("type", "")),
        (Column("Reason"), lambda o, n: o.get("reason", "")),
        (Column("Object"), _event_object),
        (Column("Message"), lambda o, n: o.get("message", o.get("note", ""))),
    ],
}


def _column_json(c: Column) -> dict[str, Any]:
    return {
        "name": c.name,
        "type": c.type,
        "format": c.format,
        "description": c.description,
        "priority": c.priority,
    }


def _custom_cell(column: Column, obj: dict[str, Any], now: datetime) -> Any:
    results = column.path(obj) if column.path else []
    if not results:
        return None
    value = results[0]
    if column.type == "date":
        return age(value, now)
    if column.type == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if column.type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if column.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    return value


def _custom(column: Column) -> Cell:
    def cell(obj: dict[str, Any], now: datetime) -> Any:
        return _custom_cell(column, obj, now)

    return cell


def _columns(rt: ResourceType) -> list[tuple[Column, Cell]]:
    if rt.is_custom:
        return [(c, _custom(c)) for c in rt.columns]
    return _BUILTIN.get(rt.gr, [(_AGE, _meta_age)])


def _row(
    rt: ResourceType,
    obj: dict[str, Any],
    cols: list[tuple[Column, Cell]],
    now: datetime,
    include: str,
) -> dict[str, Any]:
    cells: list[Any] = [obj.get("metadata", {}).get("name", "")]
    cells.extend(cell(obj, now) for _, cell in cols)
    row: dict[str, Any] = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {}),
        }
    return row


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    list_meta: dict[str, Any],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects``."""
    moment = now or datetime.now(UTC)
    cols = _columns(rt)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [_NAME, *(_column_json(c) for c, _ in cols)],
        "rows": [_row(rt, o, cols, moment, include_object) for o in objects],
    }
