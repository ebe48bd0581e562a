"""``/openapi/v2`` in the protobuf form kubectl asks for (``gnostic`` ``openapi.v2.Document``).

Why: kubectl validates on the client whatever the v3 documents cannot vouch for — kinds without a
PATCH operation (``kubectl create -f`` of a TokenReview or SubjectAccessReview) and ``kind: List``
files — and for that it downloads ``/openapi/v2`` with
``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and unmarshals it as
``openapi_v2.Document`` (github.com/google/gnostic-models ``openapiv2/OpenAPIv2.proto``); a 404
makes it fail with "failed to download openapi". kube-openapi's ``proto.NewOpenAPIData`` reads
only the definitions (schemas and their ``x-kubernetes-*`` vendor extensions), so the encoding
carries ``swagger``, ``info`` and ``definitions``; paths are served in the JSON form only.

Field numbers are those of OpenAPIv2.proto. Vendor extensions, defaults, enums and examples are
``Any`` messages whose ``yaml`` field holds the value (JSON is valid YAML), as gnostic writes them.
"""

from __future__ import annotations

import json
import struct
from typing import Any

CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
ACCEPT_MARKER = "application/com.github.proto-openapi.spec.v2"

# Schema fields (OpenAPIv2.proto ``message Schema``).
_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13}
_DOUBLES = {"multipleOf": 6, "maximum": 7, "minimum": 9}
_BOOLS = {"exclusiveMaximum": 8, "exclusiveMinimum": 10, "uniqueItems": 16, "readOnly": 27}
_INTS = {
    "maxLength": 11,
    "minLength": 12,
    "maxItems": 14,
    "minItems": 15,
    "maxProperties": 17,
    "minProperties": 18,
}
_ANY = {"default": 5, "example": 30}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes(field: int, payload: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(payload)) + payload


def _string(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


def _any(value: Any) -> bytes:
    """``message Any { google.protobuf.Any value = 1; string yaml = 2; }``."""
    return _string(2, json.dumps(value, separators=(",", ":")))


def _named_any(name: str, value: Any) -> bytes:
    return _string(1, name) + _bytes(2, _any(value))


def _named_schema(name: str, schema: dict[str, Any]) -> bytes:
    return _string(1, name) + _bytes(2, schema_message(schema))


def schema_message(schema: dict[str, Any]) -> bytes:
    """One ``Schema`` message, fields in field-number order."""
    parts: list[tuple[int, bytes]] = []
    for key, value in schema.items():
        if key in _STRINGS and isinstance(value, str):
            parts.append((_STRINGS[key], _string(_STRINGS[key], value)))
        elif key in _DOUBLES and isinstance(value, int | float):
            parts.append((_DOUBLES[key], _tag(_DOUBLES[key], 1) + struct.pack("<d", value)))
        elif key in _BOOLS and isinstance(value, bool):
            if value:
                parts.append((_BOOLS[key], _tag(_BOOLS[key], 0) + _varint(1)))
        elif key in _INTS and isinstance(value, int):
            parts.append((_INTS[key], _tag(_INTS[key], 0) + _varint(value)))
        elif key in _ANY:
            parts.append((_ANY[key], _bytes(_ANY[key], _any(value))))
        elif key == "required":
            parts.extend((19, _string(19, name)) for name in value)
        elif key == "enum":
            parts.extend((20, _bytes(20, _any(member))) for member in value)
        elif key == "additionalProperties":
            item = _tag(2, 0) + _varint(1) if value is True else _bytes(1, schema_message(value))
            parts.append((21, _bytes(21, item)))
        elif key == "type":
            types = value if isinstance(value, list) else [value]
            parts.append((22, _bytes(22, b"".join(_string(1, t) for t in types))))
        elif key == "items":
            items = value if isinstance(value, list) else [value]
            parts.append((23, _bytes(23, b"".join(_bytes(1, schema_message(s)) for s in items))))
        elif key == "allOf":
            parts.extend((24, _bytes(24, schema_message(s))) for s in value)
        elif key == "properties":
            named = b"".join(_bytes(1, _named_schema(k, v)) for k, v in value.items())
            parts.append((25, _bytes(25, named)))
        elif key.startswith("x-"):
            parts.append((31, _bytes(31, _named_any(key, value))))
    parts.sort(key=lambda part: part[0])
    return b"".join(payload for _, payload in parts)


def encode(document: dict[str, Any]) -> bytes:
    """``openapi.v2.Document`` with ``swagger``, ``info`` and ``definitions``."""
    info = document.get("info", {})
    info_message = _string(1, str(info.get("title", ""))) + _string(2, str(info.get("version", "")))
    definitions = b"".join(
        _bytes(1, _named_schema(name, schema))
        for name, schema in document.get("definitions", {}).items()
    )
    return (
        _string(1, str(document.get("swagger", "2.0")))
        + _bytes(2, info_message)
        + _bytes(9, definitions)
    )
