"""Building blocks: Go value printing, string formats and CEL evaluation semantics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ferryman.embedded.apiserver import schema, schema_causes, schema_cel


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ('a"b\\c\n\t', '"a\\"b\\\\c\\n\\t"'),
        ("héllo", '"héllo"'),
        ("\x01", '"\\x01"'),
        ("\u200b", '"\\u200b"'),
        (None, '"null"'),
        (True, "true"),
        (7, "7"),
        (0.5, "0.5"),
        (-0.00001, "-1e-05"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0, "0"),
        (
            {"b": [1, None, False], "a": "x"},
            'map[string]interface {}{"a":"x", "b":[]interface {}{1, interface {}(nil), false}}',
        ),
    ],
    ids=[
        "escapes",
        "unicode kept",
        "control byte",
        "invisible rune",
        "null",
        "bool",
        "int",
        "float",
        "small float",
        "large float without exponent",
        "exponent from 1e6",
        "zero",
        "map",
    ],
)
def test_values_print_like_go(value: Any, printed: str) -> None:
    """Bad values appear in messages exactly as Go's fmt prints them in the real apiserver."""
    assert schema_causes.go_value(value) == printed


FORMAT_CASES = [
    ("ipv4", "10.0.0.1", "::1"),
    ("ipv6", "fe80::1", "10.0.0.1"),
    ("cidr", "10.0.0.0/8", "10.0.0.0"),
    ("mac", "00:1a:2b:3c:4d:5e", "00:1a:2b"),
    ("hostname", "api.example.com", "-bad-.example"),
    ("date", "2026-11-28", "2026-13-01"),
    ("date-time", "2026-11-28T16:00:00.5+01:00", "2026-11-28 16:00"),
    ("uuid", "0b9a1f4e-6b1c-4f7e-9a56-0f0b2d7c1a11", "0b9a1f4e6b1c4f7e9a560f0b2d7c1a11"),
    ("byte", "aGVsbG8=", "aGVsbG8"),
]


@pytest.mark.parametrize(("fmt", "good", "bad"), FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES])
def test_string_formats(fmt: str, good: str, bad: str) -> None:
    """Checked formats accept a well-formed value and reject a malformed one as a type error."""
    s = schema.StructuralSchema(
        {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    )
    assert s.validate({"v": good}) == []
    (cause,) = s.validate({"v": bad})
    assert cause.type == "FieldValueTypeInvalid"
    assert cause.message.endswith(f"v in body must be of type {fmt}: {schema_causes.go_quote(bad)}")


CEL_CASES: list[tuple[str, Any, Any]] = [
    ("true == 1", {}, False),
    ("1 == 1.0", {}, True),
    ("[1, 'a'] == [1, 'a'] && {'k': 1}.size() == 1", {}, None),
    ("'k' in self", {"k": 1}, True),
    ("self.l + [3] == [1, 2, 3]", {"l": [1, 2]}, True),
    ("self.s + 'b' == 'ab'", {"s": "a"}, True),
    ("-self.n == -2 && 7 - self.n * 2 == 3", {"n": 2}, True),
    ("self.f / 2.0 == 0.75 && self.f > 1.0", {"f": 1.5}, True),
    ("0x10 == 16 && 'b' > 'a' && self.l[1] == 2", {"l": [1, 2]}, True),
    ("self.m['a-b'] == 1", {"m": {"a-b": 1}}, True),
    ("self.l.exists(x, x > 1) && !self.l.all(x, x > 1)", {"l": [1, 2]}, True),
    (
        "self.s.contains('b') && self.s.trim() == 'abc' && self.s.lowerAscii() == ' abc '",
        {"s": " abc "},
        True,
    ),
    ("self.m.all(k, k.startsWith('x'))", {"m": {"xa": 1, "xb": 2}}, True),
    ("has(self.a) && self.a.b == 1", {}, False),
    ("false && self.nope", {}, False),
    ("self.nope || true", {}, True),
]


@pytest.mark.parametrize(("rule", "value", "result"), CEL_CASES, ids=[c[0] for c in CEL_CASES])
def test_cel_expression(rule: str, value: Any, result: Any) -> None:
    """The closure evaluator follows CEL semantics (heterogeneous equality, short circuits)."""
    program = schema_cel.Program.compile(rule)
    if result is None:  # the map literal takes celpy's road; both roads must agree on truth
        assert program.fast is None
        result = True
    assert program.evaluate({"self": value, "oldSelf": schema_cel.ABSENT}) == result


@pytest.mark.parametrize(
    ("rule", "value", "error"),
    [
        ("self.l[5] == 1", {"l": [1]}, "index out of bounds: 5"),
        ("self.n / 0 == 1", {"n": 1}, "division by zero"),
        ("self.n % 0 == 1", {"n": 1}, "modulus by zero"),
        ("self.n + 1.5 > 0", {"n": 1}, "no such overload: _add_(int, double)"),
        ("!self.n", {"n": 1}, "no such overload: !_(int)"),
        ("self.s.startsWith(1)", {"s": "a"}, "no such overload: startsWith(string, int)"),
        ("size(self.n) == 1", {"n": 1}, "no such overload: size(int)"),
        ("self.n.x == 1", {"n": 1}, "no such overload: .x(int)"),
        ("self.n ? 1 : 2", {"n": 1}, "no such overload: _?_:_(int)"),
        ("self.n && true", {"n": 1}, "no such overload: _&&_(int, bool)"),
        ("oldSelf == self", {}, "no such attribute: oldSelf"),
    ],
)
def test_cel_runtime_errors(rule: str, value: Any, error: str) -> None:
    """Run-time failures surface as CelEvalError with Go-like text, never as Python errors."""
    program = schema_cel.Program.compile(rule)
    with pytest.raises(schema_cel.CelEvalError, match="^" + re.escape(error)):
        program.evaluate({"self": value, "oldSelf": schema_cel.ABSENT})
