"""Schemas a real apiserver refuses raise SchemaError; accepted ones publish as OpenAPI v3."""

from __future__ import annotations

from typing import Any

import pytest

from ferryman.embedded.apiserver import schema


def _with_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec}}


STRING = {"type": "string"}

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("root must be an object", {"type": "string"}, 'must be "object" at the root'),
    ("root default", {"type": "object", "default": {}}, "must not be set at the root"),
    ("missing type", _with_spec({"properties": {"a": STRING}}), "type: Required value"),
    ("unknown type", _with_spec({"type": "map"}), 'Unsupported value: "map"'),
    (
        "additionalProperties false",
        _with_spec({"type": "object", "additionalProperties": False}),
        "must not be false",
    ),
    (
        "properties with additionalProperties",
        _with_spec({"type": "object", "properties": {"a": STRING}, "additionalProperties": STRING}),
        "mutual exclusive",
    ),
    (
        "uniqueItems",
        _with_spec({"type": "array", "items": STRING, "uniqueItems": True}),
        "uniqueItems cannot be set to true",
    ),
    ("array without items", _with_spec({"type": "array"}), "items: Required value"),
    ("tuple items", _with_spec({"type": "array", "items": [STRING]}), "not an array"),
    ("$ref", _with_spec({"$ref": "#/definitions/x"}), "$ref: Forbidden"),
    (
        "type inside anyOf",
        _with_spec({"type": "object", "anyOf": [{"type": "object"}]}),
        "must not be used inside",
    ),
    (
        "junctor property missing from the structure",
        _with_spec(
            {
                "type": "object",
                "properties": {"a": STRING},
                "anyOf": [{"properties": {"b": {"minLength": 1}}}],
            }
        ),
        "structural part",
    ),
    (
        "int-or-string with a type",
        _with_spec({"type": "string", "x-kubernetes-int-or-string": True}),
        "must be empty",
    ),
    (
        "map list without keys",
        _with_spec({"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}),
        "list-map-keys: Required value",
    ),
    (
        "map list key not required",
        _with_spec(
            {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": STRING}},
            }
        ),
        "must be required or have a default",
    ),
    (
        "list type on an object",
        _with_spec({"type": "object", "x-kubernetes-list-type": "set"}),
        "only be used on type array",
    ),
    (
        "embedded resource without fields",
        _with_spec({"type": "object", "x-kubernetes-embedded-resource": True}),
        "x-kubernetes-embedded-resource",
    ),
    (
        "pattern with lookahead (not RE2)",
        _with_spec({"type": "string", "pattern": "(?=a)"}),
        "not a valid RE2",
    ),
    (
        "pattern that does not compile",
        _with_spec({"type": "string", "pattern": "a("}),
        "pattern: Invalid value",
    ),
    (
        "default of the wrong type",
        _with_spec({"type": "object", "properties": {"n": {"type": "integer", "default": "five"}}}),
        "must be of type integer",
    ),
    (
        "default with unknown fields",
        _with_spec({"type": "object", "default": {"x": 1}, "properties": {"a": STRING}}),
        "must not have unknown fields",
    ),
    (
        "metadata beyond name",
        {
            "type": "object",
            "properties": {
                "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}
            },
        },
        "must not be specified",
    ),
    (
        "bad rule reason",
        _with_spec(
            {"type": "object", "x-kubernetes-validations": [{"rule": "true", "reason": "Nope"}]}
        ),
        "reason: Unsupported value",
    ),
    (
        "bad fieldPath",
        _with_spec(
            {
                "type": "object",
                "x-kubernetes-validations": [{"rule": "true", "fieldPath": "spec..x"}],
            }
        ),
        "fieldPath: Invalid value",
    ),
]


@pytest.mark.parametrize(("raw", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_schema(raw: dict[str, Any], fragment: str) -> None:
    """Non-structural or inconsistent schemas are refused with a message naming the problem."""
    with pytest.raises(schema.SchemaError) as info:
        schema.StructuralSchema(raw)
    assert fragment in str(info.value)


def test_schema_is_copied_on_construction() -> None:
    """Mutating the caller's mapping afterwards does not change the compiled schema."""
    raw = _with_spec({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}})
    s = schema.StructuralSchema(raw)
    raw["properties"]["spec"]["properties"]["a"]["default"] = "y"
    obj: dict[str, Any] = {"spec": {}}
    s.default(obj)
    assert obj == {"spec": {"a": "x"}}
    assert s.to_openapi()["properties"]["spec"]["properties"]["a"]["default"] == "x"


def test_to_openapi_publishes_the_schema_with_object_meta() -> None:
    """Served OpenAPI keeps the CRD schema and points metadata at ObjectMeta, like the apiserver."""
    raw = _with_spec(
        {
            "type": "object",
            "description": "Spec of X.",
            "properties": {"a": {"type": "string", "description": "A."}},
        }
    )
    published = schema.StructuralSchema(raw).to_openapi()
    assert published["properties"]["spec"] == raw["properties"]["spec"]
    assert published["properties"]["metadata"]["allOf"] == [{"$ref": schema.OBJECT_META_REF}]
    assert published["properties"]["apiVersion"]["type"] == "string"
    assert published["properties"]["kind"]["description"].startswith("Kind is a string value")
    assert published["type"] == "object"


@pytest.mark.parametrize(
    "count",
    [
        pytest.param(
            {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            },
            id="anyOf",
        ),
        pytest.param(
            {
                "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}],
                "x-kubernetes-int-or-string": True,
            },
            id="allOf[0].anyOf",
        ),
    ],
)
def test_int_or_string_pattern_may_name_types_in_its_junctor(count: dict[str, Any]) -> None:
    """``anyOf: [{type: integer}, {type: string}]`` beside x-kubernetes-int-or-string is the one
    ``type`` apiextensions allows in a junctor (controller-gen writes it; Argo CD's CRD has it)."""
    compiled = schema.StructuralSchema(
        _with_spec({"type": "object", "properties": {"count": count}})
    )
    for value in (3, "3"):
        assert compiled.validate({"spec": {"count": value}}) == []
    assert compiled.validate({"spec": {"count": True}}) != []
    published = compiled.to_openapi()["properties"]["spec"]["properties"]["count"]
    assert published == count
    with pytest.raises(schema.SchemaError, match="must not be used inside"):
        schema.StructuralSchema(
            _with_spec({"type": "object", "anyOf": [{"type": "integer"}, {"type": "string"}]})
        )
