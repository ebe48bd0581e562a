"""Server-side ``Table`` rendering (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

Custom resources get a Name column plus their ``additionalPrinterColumns`` (``date`` cells
rendered as ages, as the apiserver's CRD table convertor does); built-ins get the columns of
kube-apiserver's printers (``printers``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ferryman.embedded.apiserver import printers
from ferryman.embedded.apiserver.registry import Column, ResourceType


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
        return printers.age(value, now)
    if column.type == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if column.type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if column.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    return value


def _custom(column: Column) -> printers.Cell:
    def cell(obj: dict[str, Any], now: datetime) -> Any:
        return _custom_cell(column, obj, now)

    return cell


def _columns(rt: ResourceType) -> printers.Printer:
    if rt.is_custom:
        return [printers.NAME, *((c, _custom(c)) for c in rt.columns)]
    return printers.BY_RESOURCE.get(rt.gr, printers.DEFAULT)


def _row(
    rt: ResourceType,
    obj: dict[str, Any],
    cols: printers.Printer,
    now: datetime,
    include: str,
) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": [cell(obj, now) for _, cell in cols]}
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
        "columnDefinitions": [_column_json(c) for c, _ in cols],
        "rows": [_row(rt, o, cols, moment, include_object) for o in objects],
    }
