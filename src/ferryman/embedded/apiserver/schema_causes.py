"""Status causes worded exactly as the Kubernetes apiserver words them.

Clients (kubectl, controllers, tests written against a real cluster) match on these strings, so
the wording follows k8s.io/apimachinery ``field.Error.ErrorBody`` and the apiextensions
translation of kube-openapi validation errors: values are printed the way Go's fmt prints them
(``%q`` for strings, ``%v`` for numbers and booleans, ``%#v`` for maps and lists).
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import math
from typing import Any

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
DUPLICATE = "FieldValueDuplicate"
TYPE_INVALID = "FieldValueTypeInvalid"
FORBIDDEN = "FieldValueForbidden"


@dataclasses.dataclass(frozen=True)
class Cause:
    """One entry of ``Status.details.causes``: reason (CauseType), message and field path."""

    type: str
    message: str
    field: str


def go_quote(text: str) -> str:
    """Go's ``%q`` / strconv.Quote: double quotes, printable Unicode kept, the rest escaped."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (strconv 'g', shortest digits): exponent below 1e-4, from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    if not isinstance(exponent, int):  # "n"/"N"/"F" mark NaN/Inf, handled above
        raise ValueError(f"not a finite float: {value!r}")
    digits = "".join(str(d) for d in digit_tuple)
    point = len(digits) + exponent  # position of the decimal point within digits
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp = point - 1
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def go_value(value: Any) -> str:
    """How ``field.Error`` prints a bad value: %q, %v or %#v depending on the Go type."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_sharp(value)


def go_sharp(value: Any) -> str:
    """Go's ``%#v`` of a decoded JSON value (maps print with sorted keys)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        entries = ", ".join(f"{go_quote(str(k))}:{go_sharp(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + entries + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp(v) for v in value) + "}"
    return go_quote(str(value))


def _with_detail(head: str, detail: str) -> str:
    return f"{head}: {detail}" if detail else head


def required(field: str, detail: str = "") -> Cause:
    """field.Required."""
    return Cause(REQUIRED, _with_detail("Required value", detail), field)


def forbidden(field: str, detail: str) -> Cause:
    """field.Forbidden."""
    return Cause(FORBIDDEN, _with_detail("Forbidden", detail), field)


def invalid(field: str, value: Any, detail: str) -> Cause:
    """field.Invalid."""
    return Cause(INVALID, _with_detail(f"Invalid value: {go_value(value)}", detail), field)


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    """field.TypeInvalid (same wording as Invalid, another reason)."""
    return Cause(TYPE_INVALID, _with_detail(f"Invalid value: {go_value(value)}", detail), field)


def not_supported(field: str, value: Any, allowed: list[Any]) -> Cause:
    """field.NotSupported, with the enum rendered as apiextensions renders it."""
    quoted = ", ".join(go_quote(a if isinstance(a, str) else json_text(a)) for a in allowed)
    detail = f"supported values: {quoted}" if allowed else ""
    return Cause(
        NOT_SUPPORTED, _with_detail(f"Unsupported value: {go_value(value)}", detail), field
    )


def too_long(field: str, max_length: int) -> Cause:
    """field.TooLong (the value itself is never echoed)."""
    return Cause(TOO_LONG, f"Too long: may not be more than {max_length} bytes", field)


def too_many(field: str, actual: int, maximum: int) -> Cause:
    """field.TooMany, used for maxItems and maxProperties alike."""
    return Cause(TOO_MANY, f"Too many: {actual}: must have at most {maximum} items", field)


def duplicate(field: str, value: Any) -> Cause:
    """field.Duplicate."""
    return Cause(DUPLICATE, f"Duplicate value: {go_value(value)}", field)


def json_text(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (used for non-string enum members)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
