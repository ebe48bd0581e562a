"""Each schema keyword accepts what Kubernetes accepts and rejects with the apiserver's cause."""

from __future__ import annotations

from typing import Any

import pytest

from ferryman.embedded.apiserver import schema

INVALID = "FieldValueInvalid"
TYPE = "FieldValueTypeInvalid"


def _schema(spec_properties: dict[str, Any], **spec_extra: Any) -> schema.StructuralSchema:
    """A root schema whose ``spec`` has the given properties."""
    spec = {"type": "object", "properties": spec_properties, **spec_extra}
    return schema.StructuralSchema({"type": "object", "properties": {"spec": spec}})


def _causes(s: schema.StructuralSchema, spec: Any) -> list[tuple[str, str, str]]:
    obj = {"apiVersion": "x.io/v1", "kind": "X", "metadata": {"name": "a"}, "spec": spec}
    return [(c.type, c.field, c.message) for c in s.validate(obj)]


STRING = {"type": "string"}
INT = {"type": "integer"}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], Any, list[tuple[str, str, str]]]] = [
    ("string accepts a string", {"x": STRING}, {}, {"x": "a"}, []),
    (
        "string rejects an integer",
        {"x": STRING},
        {},
        {"x": 1},
        [
            (
                TYPE,
                "spec.x",
                'Invalid value: "integer": spec.x in body must be of type string: "integer"',
            )
        ],
    ),
    (
        "integer rejects a JSON string",
        {"x": INT},
        {},
        {"x": "5"},
        [
            (
                TYPE,
                "spec.x",
                'Invalid value: "string": spec.x in body must be of type integer: "string"',
            )
        ],
    ),
    (
        "integer rejects a fraction",
        {"x": INT},
        {},
        {"x": 1.5},
        [
            (
                TYPE,
                "spec.x",
                'Invalid value: "number": spec.x in body must be of type integer: "number"',
            )
        ],
    ),
    ("integer accepts an integral float like kube-openapi", {"x": INT}, {}, {"x": 2.0}, []),
    ("number accepts an integer", {"x": {"type": "number"}}, {}, {"x": 3}, []),
    (
        "boolean rejects a string",
        {"x": {"type": "boolean"}},
        {},
        {"x": "true"},
        [
            (
                TYPE,
                "spec.x",
                'Invalid value: "string": spec.x in body must be of type boolean: "string"',
            )
        ],
    ),
    (
        "object rejects a list",
        {"x": {"type": "object"}},
        {},
        {"x": []},
        [
            (
                TYPE,
                "spec.x",
                'Invalid value: "array": spec.x in body must be of type object: "array"',
            )
        ],
    ),
    (
        "null is a type error without nullable",
        {"x": STRING},
        {},
        {"x": None},
        [(TYPE, "spec.x", 'Invalid value: "null": spec.x in body must be of type string: "null"')],
    ),
    ("nullable accepts null", {"x": {"type": "string", "nullable": True}}, {}, {"x": None}, []),
    (
        "enum rejects other strings",
        {"x": {"type": "string", "enum": ["a", "b"]}},
        {},
        {"x": "c"},
        [
            (
                "FieldValueNotSupported",
                "spec.x",
                'Unsupported value: "c": supported values: "a", "b"',
            )
        ],
    ),
    (
        "enum of integers lists them as JSON",
        {"x": {"type": "integer", "enum": [1, 2]}},
        {},
        {"x": 3},
        [("FieldValueNotSupported", "spec.x", 'Unsupported value: 3: supported values: "1", "2"')],
    ),
    ("enum accepts a member", {"x": {"type": "string", "enum": ["a", "b"]}}, {}, {"x": "b"}, []),
    (
        "pattern",
        {"x": {"type": "string", "pattern": "^[a-z]+$"}},
        {},
        {"x": "ABC"},
        [(INVALID, "spec.x", "Invalid value: \"ABC\": spec.x in body should match '^[a-z]+$'")],
    ),
    (
        "pattern is a search like Go's MatchString",
        {"x": {"type": "string", "pattern": "[0-9]"}},
        {},
        {"x": "ab1"},
        [],
    ),
    (
        "minLength counts characters",
        {"x": {"type": "string", "minLength": 3}},
        {},
        {"x": "ab"},
        [
            (
                INVALID,
                "spec.x",
                'Invalid value: "ab": spec.x in body should be at least 3 chars long',
            )
        ],
    ),
    (
        "maxLength",
        {"x": {"type": "string", "maxLength": 3}},
        {},
        {"x": "abcd"},
        [("FieldValueTooLong", "spec.x", "Too long: may not be more than 3 bytes")],
    ),
    (
        "minimum",
        {"x": {"type": "integer", "minimum": 1}},
        {},
        {"x": 0},
        [
            (
                INVALID,
                "spec.x",
                "Invalid value: 0: spec.x in body should be greater than or equal to 1",
            )
        ],
    ),
    (
        "exclusiveMinimum",
        {"x": {"type": "integer", "minimum": 1, "exclusiveMinimum": True}},
        {},
        {"x": 1},
        [(INVALID, "spec.x", "Invalid value: 1: spec.x in body should be greater than 1")],
    ),
    (
        "maximum with a float value",
        {"x": {"type": "number", "maximum": 2}},
        {},
        {"x": 2.5},
        [
            (
                INVALID,
                "spec.x",
                "Invalid value: 2.5: spec.x in body should be less than or equal to 2",
            )
        ],
    ),
    (
        "exclusiveMaximum",
        {"x": {"type": "integer", "maximum": 9, "exclusiveMaximum": True}},
        {},
        {"x": 9},
        [(INVALID, "spec.x", "Invalid value: 9: spec.x in body should be less than 9")],
    ),
    (
        "multipleOf",
        {"x": {"type": "integer", "multipleOf": 5}},
        {},
        {"x": 7},
        [(INVALID, "spec.x", "Invalid value: 7: spec.x in body should be a multiple of 5")],
    ),
    ("multipleOf with floats", {"x": {"type": "number", "multipleOf": 0.1}}, {}, {"x": 0.3}, []),
    (
        "minItems",
        {"x": {"type": "array", "items": STRING, "minItems": 1}},
        {},
        {"x": []},
        [(INVALID, "spec.x", "Invalid value: 0: spec.x in body should have at least 1 items")],
    ),
    (
        "maxItems",
        {"x": {"type": "array", "items": STRING, "maxItems": 2}},
        {},
        {"x": ["a", "b", "c"]},
        [("FieldValueTooMany", "spec.x", "Too many: 3: must have at most 2 items")],
    ),
    (
        "minProperties",
        {"x": {"type": "object", "additionalProperties": STRING, "minProperties": 2}},
        {},
        {"x": {"a": "1"}},
        [(INVALID, "spec.x", "Invalid value: 1: spec.x in body should have at least 2 properties")],
    ),
    (
        "maxProperties",
        {"x": {"type": "object", "additionalProperties": STRING, "maxProperties": 1}},
        {},
        {"x": {"a": "1", "b": "2"}},
        [("FieldValueTooMany", "spec.x", "Too many: 2: must have at most 1 items")],
    ),
    (
        "required",
        {"x": STRING, "y": STRING},
        {"required": ["x", "y"]},
        {"y": "b"},
        [("FieldValueRequired", "spec.x", "Required value")],
    ),
    (
        "required inside list items names the index",
        {
            "environments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["targets"],
                    "properties": {"name": STRING, "targets": {"type": "array", "items": STRING}},
                },
            }
        },
        {},
        {"environments": [{"name": "dev", "targets": []}, {"name": "prod"}]},
        [("FieldValueRequired", "spec.environments[1].targets", "Required value")],
    ),
    (
        "additionalProperties values are checked under their key",
        {"labels": {"type": "object", "additionalProperties": STRING}},
        {},
        {"labels": {"app": 1}},
        [
            (
                TYPE,
                "spec.labels[app]",
                'Invalid value: "integer": spec.labels[app] in body must be of type string: '
                '"integer"',
            )
        ],
    ),
    (
        "list-type map refuses duplicate keys",
        {
            "envs": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": STRING, "n": INT},
                },
            }
        },
        {},
        {"envs": [{"name": "dev", "n": 1}, {"name": "dev", "n": 2}]},
        [
            (
                "FieldValueDuplicate",
                "spec.envs[1]",
                'Duplicate value: map[string]interface {}{"name":"dev"}',
            )
        ],
    ),
    (
        "list-type set refuses duplicate values",
        {"s": {"type": "array", "x-kubernetes-list-type": "set", "items": STRING}},
        {},
        {"s": ["a", "b", "a"]},
        [("FieldValueDuplicate", "spec.s[2]", 'Duplicate value: "a"')],
    ),
    (
        "list-type atomic allows duplicates",
        {"s": {"type": "array", "x-kubernetes-list-type": "atomic", "items": STRING}},
        {},
        {"s": ["a", "a"]},
        [],
    ),
    (
        "format date-time",
        {"t": {"type": "string", "format": "date-time"}},
        {},
        {"t": "yesterday"},
        [
            (
                TYPE,
                "spec.t",
                'Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"',
            )
        ],
    ),
    (
        "format date-time accepts RFC 3339",
        {"t": {"type": "string", "format": "date-time"}},
        {},
        {"t": "2026-11-28T16:00:00Z"},
        [],
    ),
    (
        "format byte",
        {"b": {"type": "string", "format": "byte"}},
        {},
        {"b": "not base64!"},
        [
            (
                TYPE,
                "spec.b",
                'Invalid value: "not base64!": spec.b in body must be of type byte: "not base64!"',
            )
        ],
    ),
    (
        "format uuid",
        {"u": {"type": "string", "format": "uuid"}},
        {},
        {"u": "0b9a1f4e-6b1c-4f7e-9a56-0f0b2d7c1a11"},
        [],
    ),
    (
        "numeric formats do not restrict the range",
        {"n": {"type": "integer", "format": "int32"}},
        {},
        {"n": 2**40},
        [],
    ),
    (
        "unknown formats are accepted",
        {"s": {"type": "string", "format": "flux-duration"}},
        {},
        {"s": "anything"},
        [],
    ),
    (
        "int-or-string accepts both",
        {"p": {"x-kubernetes-int-or-string": True}},
        {},
        {"p": "50%"},
        [],
    ),
    (
        "int-or-string rejects a boolean",
        {"p": {"x-kubernetes-int-or-string": True}},
        {},
        {"p": True},
        [
            (
                TYPE,
                "spec.p",
                'Invalid value: "boolean": spec.p in body must be of type integer,string: '
                '"boolean"',
            )
        ],
    ),
    (
        "anyOf of required fields",
        {"a": STRING, "b": STRING},
        {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {},
        [
            (
                INVALID,
                "spec",
                'Invalid value: "": "spec" must validate at least one schema (anyOf)',
            ),
            ("FieldValueRequired", "spec.a", "Required value"),
        ],
    ),
    (
        "anyOf passes when one branch does",
        {"a": STRING, "b": STRING},
        {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {"b": "x"},
        [],
    ),
    (
        "oneOf refuses two valid branches",
        {"a": STRING, "b": STRING},
        {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {"a": "x", "b": "y"},
        [
            (
                INVALID,
                "spec",
                'Invalid value: "": "spec" must validate one and only one schema (oneOf). '
                "Found 2 valid alternatives",
            )
        ],
    ),
    (
        "allOf reports the failing branch",
        {"a": INT},
        {"allOf": [{"properties": {"a": {"minimum": 5}}}]},
        {"a": 1},
        [
            (INVALID, "spec", 'Invalid value: "": "spec" must validate all the schemas (allOf)'),
            (
                INVALID,
                "spec.a",
                "Invalid value: 1: spec.a in body should be greater than or equal to 5",
            ),
        ],
    ),
    (
        "not",
        {"a": STRING},
        {"not": {"required": ["a"]}},
        {"a": "x"},
        [(INVALID, "spec", 'Invalid value: "": "spec" must not validate the schema (not)')],
    ),
    (
        "preserve-unknown-fields without a type takes any value",
        {"values": {"x-kubernetes-preserve-unknown-fields": True}},
        {},
        {"values": [1, {"a": None}]},
        [],
    ),
    (
        "embedded resources need apiVersion and kind",
        {
            "tpl": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "x-kubernetes-preserve-unknown-fields": True,
            }
        },
        {},
        {"tpl": {"apiVersion": "v1"}},
        [("FieldValueRequired", "spec.tpl.kind", "Required value: must not be empty")],
    ),
]


@pytest.mark.parametrize(
    ("props", "extra", "spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_keyword(
    props: dict[str, Any], extra: dict[str, Any], spec: Any, expected: list[tuple[str, str, str]]
) -> None:
    """The keyword accepts valid values and rejects others with Kubernetes' cause."""
    assert _causes(_schema(props, **extra), spec) == expected


def test_errors_in_several_fields_are_all_reported() -> None:
    """Validation does not stop at the first bad field."""
    s = _schema({"a": STRING, "b": INT}, required=["c"])
    fields = sorted(field for _, field, _ in _causes(s, {"a": 1, "b": "x"}))
    assert fields == ["spec.a", "spec.b", "spec.c"]


def test_schema_may_constrain_metadata_name() -> None:
    """A root schema's metadata.name rules apply; the rest of metadata is left to the server."""
    s = schema.StructuralSchema(
        {
            "type": "object",
            "properties": {
                "metadata": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 5}},
                }
            },
        }
    )
    obj = {"metadata": {"name": "much-too-long", "labels": {"a": "b"}, "whatever": 1}}
    causes = s.validate(obj)
    assert [(c.type, c.field, c.message) for c in causes] == [
        ("FieldValueTooLong", "metadata.name", "Too long: may not be more than 5 bytes")
    ]


def test_unconstrained_metadata_is_not_validated() -> None:
    """Without a metadata schema, any metadata passes (ObjectMeta is checked by the server)."""
    s = _schema({})
    assert s.validate({"metadata": {"name": 5, "labels": []}, "spec": {}}) == []


def test_cause_reports_go_syntax_for_float_values() -> None:
    """Large floats print in Go's %v style (1e+06), as kubectl users see them."""
    s = _schema({"x": {"type": "number", "maximum": 10}})
    (cause,) = s.validate({"spec": {"x": 1e6}})
    assert (
        cause.message == "Invalid value: 1e+06: spec.x in body should be less than or equal to 10"
    )
