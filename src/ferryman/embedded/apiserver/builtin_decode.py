"""Decode a built-in object the way kube-apiserver's JSON decoder does, and fail the same way.

Why: for built-in kinds a wrong JSON type is not a 422 validation error but a 400 at decoding
(``ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into
Go struct field ConfigMap.data of type string``), and so are unparsable times and quantities. The
server decodes into Go structs with ``sigs.k8s.io/json`` (encoding/json's rules); this module
walks the object against the upstream schema (``builtin_schema``) and reproduces:

- ``encoding/json``'s ``UnmarshalTypeError`` wording: the JSON kind (``number 1.5`` when a number
  does not fit an integer), the innermost Go struct, the field path without list indices or map
  keys, and the Go type; the first error in document order is the one reported;
- ``metav1.Time`` (RFC 3339) and ``metav1.MicroTime`` (RFC 3339 with exactly six fractional digits)
  through Go's ``time.Parse`` messages, and re-encodes them in UTC as Go marshals them;
- ``resource.Quantity`` (string or number, ``ParseQuantity``'s errors), ``IntOrString``, and
  ``[]byte`` (base64, ``illegal base64 data at input byte N``).

``null`` never fails (Go leaves the zero value); a ``null`` struct field is dropped, as Go's
``omitempty`` would not write it back.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ferryman.embedded.apiserver import builtin_schema
from ferryman.embedded.apiserver.schema_causes import go_quote
from ferryman.embedded.apiserver.schema_model import Node

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIXES = frozenset(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T"))
_SUFFIXES_MORE = frozenset(("P", "E"))
_EXPONENT = re.compile(r"^[eE][-+]?[0-9]+$")
_B64 = re.compile(r"[^A-Za-z0-9+/=]")
_INT_RANGES = {"int32": 2**31, "int64": 2**63, "int": 2**63}
QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class DecodeError(ValueError):
    """The Go decoder's error text (without the ``X in version … cannot be handled`` prefix)."""


Context = tuple[str, tuple[str, ...]]  # (innermost Go struct, field names from the root)


def decode(root: Node, obj: dict[str, Any], kind: str) -> None:
    """Check that ``obj`` decodes into ``root``'s Go type; normalise times in place."""
    _struct(root, obj, (kind, ()))


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value_kind: str, go_type: str, ctx: Context) -> DecodeError:
    struct, fields = ctx
    if not fields:
        return DecodeError(f"json: cannot unmarshal {value_kind} into Go value of type {go_type}")
    return DecodeError(
        f"json: cannot unmarshal {value_kind} into Go struct field {struct}.{'.'.join(fields)} "
        f"of type {go_type}"
    )


def _number_text(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _value(node: Node, value: Any, ctx: Context) -> Any:
    """The decoded value (times normalised); raises DecodeError for the first problem."""
    go_type = node.go_type
    special = _SPECIAL.get(go_type)
    if special is not None:
        return special(value, ctx)
    if node.int_or_string:
        return _int_or_string(value, ctx)
    if node.preserve_unknown and not node.properties:
        return value
    if node.items is not None:
        if not isinstance(value, list):
            raise _type_error(_json_kind(value), go_type, ctx)
        return [None if v is None else _value(node.items, v, ctx) for v in value]
    if node.additional is not None:
        if not isinstance(value, dict):
            raise _type_error(_json_kind(value), go_type, ctx)
        for key, item in value.items():
            value[key] = (
                _zero(node.additional) if item is None else _value(node.additional, item, ctx)
            )
        return value
    if node.type == "object":
        if not isinstance(value, dict):
            raise _type_error(_json_kind(value), go_type, ctx)
        _struct(node, value, ctx)
        return value
    return _scalar(node, value, ctx)


def _struct(node: Node, value: dict[str, Any], ctx: Context) -> None:
    struct = builtin_schema.go_struct(node)
    for key in list(value):
        sub = node.properties.get(key)
        if sub is None:
            continue  # unknown: pruning reports and drops it
        if value[key] is None:
            del value[key]
            continue
        value[key] = _value(sub, value[key], (struct, (*ctx[1], key)))


def _zero(node: Node) -> Any:
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(node.type or "")


def _scalar(node: Node, value: Any, ctx: Context) -> Any:
    kind = _json_kind(value)
    if node.type == "string":
        if kind != "string":
            raise _type_error(kind, node.go_type, ctx)
        if node.format == "byte":
            _base64(value)
        return value
    if node.type == "boolean":
        if kind != "bool":
            raise _type_error(kind, node.go_type, ctx)
        return value
    if node.type == "integer":
        if kind != "number":
            raise _type_error(kind, node.go_type, ctx)
        bound = _INT_RANGES.get(node.go_type, 2**63)
        if isinstance(value, float) or not -bound <= value < bound:
            raise _type_error(f"number {_number_text(value)}", node.go_type, ctx)
        return value
    if node.type == "number" and kind != "number":
        raise _type_error(kind, node.go_type, ctx)
    return value


def _base64(value: str) -> None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        bad = _B64.search(value)
        at = bad.start() if bad else len(value)
        raise DecodeError(f"illegal base64 data at input byte {at}") from None


def _int_or_string(value: Any, ctx: Context) -> Any:
    kind = _json_kind(value)
    if kind == "string":
        return value
    if kind != "number":
        raise _type_error(kind, "int32", ctx)
    if isinstance(value, float) or not -(2**31) <= value < 2**31:
        raise _type_error(f"number {_number_text(value)}", "int32", ctx)
    return value


def _quantity(value: Any, ctx: Context) -> Any:
    """``resource.Quantity``'s UnmarshalJSON: a string or a bare number, parsed."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DecodeError(QUANTITY_FORMAT)
    text = value.strip() if isinstance(value, str) else _number_text(value)
    check_quantity(text)
    return value


def check_quantity(text: str) -> None:
    """``resource.ParseQuantity``'s refusals, with its error texts."""
    match = _QUANTITY.match(text)
    if not text or match is None:
        raise DecodeError(QUANTITY_FORMAT)
    number, suffix = match.group(1), match.group(2)
    if number.count(".") > 1 or not any(c.isdigit() for c in number):
        raise DecodeError("unable to parse numeric part of quantity")
    if suffix not in _SUFFIXES and suffix not in _SUFFIXES_MORE and not _EXPONENT.match(suffix):
        raise DecodeError("unable to parse quantity's suffix")


def _time(micro: bool) -> Callable[[Any, Context], Any]:
    def decode_time(value: Any, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise _type_error(_json_kind(value), "string", ctx)
        return format_time(parse_time(value, micro=micro), micro=micro)

    return decode_time


_SPECIAL: dict[str, Callable[[Any, Context], Any]] = {
    "resource.Quantity": _quantity,
    "v1.Time": _time(False),
    "v1.MicroTime": _time(True),
}


# --------------------------------------------------------------------------- Go's time.Parse


class _Cursor:
    """Go's ``time.Parse`` for the two layouts metav1 uses, with its error texts."""

    def __init__(self, value: str, layout: str) -> None:
        self.value, self.layout, self.rest = value, layout, value

    def fail(self, value_elem: str, layout_elem: str) -> DecodeError:
        return DecodeError(
            f"parsing time {go_quote(self.value)} as {go_quote(self.layout)}: cannot parse "
            f"{go_quote(value_elem)} as {go_quote(layout_elem)}"
        )

    def out_of_range(self, what: str) -> DecodeError:
        return DecodeError(f"parsing time {go_quote(self.value)}: {what} out of range")

    def literal(self, text: str) -> None:
        if not self.rest.startswith(text):
            raise self.fail(self.rest, text)
        self.rest = self.rest[len(text) :]

    def number(self, layout_elem: str, width: int, *, fixed: bool = True) -> int:
        hold = self.rest
        digits = 0
        while digits < width and digits < len(hold) and hold[digits].isdigit():
            digits += 1
        if digits == 0 or (fixed and digits < width):
            raise self.fail(hold, layout_elem)
        self.rest = hold[digits:]
        return int(hold[:digits])


def parse_time(value: str, *, micro: bool) -> datetime:
    """``time.Parse(RFC3339[Micro], value)``; raises DecodeError with Go's message."""
    cur = _Cursor(value, RFC3339_MICRO if micro else RFC3339)
    year = cur.number("2006", 4)
    cur.literal("-")
    month = cur.number("01", 2)
    if not 1 <= month <= 12:
        raise cur.out_of_range("month")
    cur.literal("-")
    day = cur.number("02", 2)
    cur.literal("T")
    hour = cur.number("15", 2, fixed=False)
    if hour >= 24:
        raise cur.out_of_range("hour")
    cur.literal(":")
    minute = cur.number("04", 2)
    if minute >= 60:
        raise cur.out_of_range("minute")
    cur.literal(":")
    second = cur.number("05", 2)
    if second >= 60:
        raise cur.out_of_range("second")
    micros = _fraction(cur, micro)
    offset = _zone(cur)
    if cur.rest:
        raise DecodeError(f"parsing time {go_quote(value)}: extra text: {go_quote(cur.rest)}")
    try:
        moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=offset)
    except ValueError:
        raise cur.out_of_range("day") from None
    return moment.astimezone(UTC)


def _fraction(cur: _Cursor, micro: bool) -> int:
    rest = cur.rest
    if micro:
        if len(rest) < 7 or rest[0] not in ".," or not rest[1:7].isdigit():
            raise cur.fail(rest, ".000000")
        cur.rest = rest[7:]
        return int(rest[1:7])
    # RFC 3339 without a fraction in the layout still accepts one after the seconds.
    if len(rest) >= 2 and rest[0] in ".," and rest[1].isdigit():
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        cur.rest = rest[end:]
        return int((rest[1:end] + "000000")[:6])
    return 0


def _zone(cur: _Cursor) -> timezone:
    rest = cur.rest
    if rest.startswith("Z"):
        cur.rest = rest[1:]
        return UTC
    if (
        len(rest) < 6
        or rest[0] not in "+-"
        or rest[3] != ":"
        or not (rest[1:3] + rest[4:6]).isdigit()
    ):
        raise cur.fail(rest, "Z07:00")
    hours, minutes = int(rest[1:3]), int(rest[4:6])
    if hours > 24:
        raise cur.out_of_range("time zone offset hour")
    if minutes > 60:
        raise cur.out_of_range("time zone offset minute")
    cur.rest = rest[6:]
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if rest[0] == "-" else delta)


def format_time(moment: datetime, *, micro: bool) -> str:
    """How Go marshals metav1.Time (seconds) and MicroTime (microseconds), in UTC."""
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
