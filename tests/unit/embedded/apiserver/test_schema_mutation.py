"""Pruning and defaulting change objects in place the way the apiserver does before validating."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ferryman.embedded.apiserver import schema

STRING = {"type": "string"}
TARGET = {
    "type": "object",
    "properties": {
        "namespace": STRING,
        "kind": {"type": "string", "default": "GitopsCluster"},
        "weight": {"type": "integer", "default": 1},
    },
}
SCHEMA = schema.StructuralSchema(
    {
        "type": "object",
        "properties": {
            "apiVersion": STRING,
            "kind": STRING,
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "interval": {"type": "string", "default": "5m"},
                    "suspend": {"type": "boolean", "nullable": True, "default": False},
                    "promotion": {
                        "type": "object",
                        "default": {},
                        "properties": {
                            "manual": {"type": "boolean", "default": False},
                            "strategy": {
                                "type": "object",
                                "properties": {"retries": {"type": "integer", "default": 3}},
                            },
                        },
                    },
                    "targets": {"type": "array", "items": TARGET},
                    "byName": {"type": "object", "additionalProperties": TARGET},
                    "values": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {"known": {"type": "object", "properties": {"a": STRING}}},
                    },
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "properties": {"spec": {"type": "object", "properties": {"image": STRING}}},
                    },
                    "untyped": {"x-kubernetes-preserve-unknown-fields": True},
                    "anyMap": {"type": "object", "additionalProperties": True},
                },
            },
            "status": {
                "type": "object",
                "default": {"observedGeneration": -1},
                "properties": {"observedGeneration": {"type": "integer"}},
            },
        },
    }
)

DEFAULT_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "absent parent gets its own default, then nested defaults inside it",
        {"spec": {}},
        {
            "spec": {"interval": "5m", "suspend": False, "promotion": {"manual": False}},
            "status": {"observedGeneration": -1},
        },
    ),
    (
        "existing values are kept",
        {"spec": {"interval": "1h", "promotion": {"manual": True}}, "status": {}},
        {"spec": {"interval": "1h", "suspend": False, "promotion": {"manual": True}}, "status": {}},
    ),
    (
        "nested default applies only where the parent exists",
        {"spec": {"promotion": {"strategy": {}}}, "status": {}},
        {
            "spec": {
                "interval": "5m",
                "suspend": False,
                "promotion": {"manual": False, "strategy": {"retries": 3}},
            },
            "status": {},
        },
    ),
    (
        "array items are defaulted one by one",
        {"spec": {"targets": [{"namespace": "a"}, {"kind": "Secret", "weight": 2}]}, "status": {}},
        {
            "spec": {
                "interval": "5m",
                "suspend": False,
                "promotion": {"manual": False},
                "targets": [
                    {"namespace": "a", "kind": "GitopsCluster", "weight": 1},
                    {"kind": "Secret", "weight": 2},
                ],
            },
            "status": {},
        },
    ),
    (
        "map values are defaulted",
        {"spec": {"byName": {"dev": {}}}, "status": {}},
        {
            "spec": {
                "interval": "5m",
                "suspend": False,
                "promotion": {"manual": False},
                "byName": {"dev": {"kind": "GitopsCluster", "weight": 1}},
            },
            "status": {},
        },
    ),
    (
        "null in a non-nullable field is replaced by its default",
        {"spec": {"interval": None, "promotion": None}, "status": {}},
        {
            "spec": {"interval": "5m", "suspend": False, "promotion": {"manual": False}},
            "status": {},
        },
    ),
    (
        "null in a nullable field stays",
        {"spec": {"suspend": None}, "status": {}},
        {"spec": {"interval": "5m", "suspend": None, "promotion": {"manual": False}}, "status": {}},
    ),
    (
        "null without a default is dropped",
        {"spec": {"targets": None, "byName": {"x": None}}, "status": {}},
        {
            "spec": {
                "interval": "5m",
                "suspend": False,
                "promotion": {"manual": False},
                "byName": {},
            },
            "status": {},
        },
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in DEFAULT_CASES], ids=[c[0] for c in DEFAULT_CASES]
)
def test_default(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    """Defaults fill what is absent where the parent exists, recursively."""
    SCHEMA.default(obj)
    assert obj == expected


def test_default_values_are_not_shared_between_objects() -> None:
    """Each object gets its own copy of a default, so mutating one leaves the schema intact."""
    first: dict[str, Any] = {"spec": {}}
    SCHEMA.default(first)
    first["spec"]["promotion"]["manual"] = True
    second: dict[str, Any] = {"spec": {}}
    SCHEMA.default(second)
    assert second["spec"]["promotion"] == {"manual": False}


PRUNE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    (
        "unknown fields are dropped at every level",
        {
            "apiVersion": "x/v1",
            "kind": "X",
            "metadata": {"name": "a", "anything": 1},
            "spec": {"interval": "1m", "bogus": 1, "promotion": {"manual": True, "extra": {}}},
            "other": 2,
        },
        {
            "apiVersion": "x/v1",
            "kind": "X",
            "metadata": {"name": "a", "anything": 1},
            "spec": {"interval": "1m", "promotion": {"manual": True}},
        },
        ["spec.bogus", "spec.promotion.extra", "other"],
    ),
    (
        "list items and map values are pruned with their index or key",
        {"spec": {"targets": [{"namespace": "a", "x": 1}], "byName": {"dev": {"y": 2}}}},
        {"spec": {"targets": [{"namespace": "a"}], "byName": {"dev": {}}}},
        ["spec.targets[0].x", "spec.byName[dev].y"],
    ),
    (
        "preserve-unknown-fields keeps unknown keys but prunes known properties",
        {"spec": {"values": {"free": {"deep": 1}, "known": {"a": "x", "b": "y"}}}},
        {"spec": {"values": {"free": {"deep": 1}, "known": {"a": "x"}}}},
        ["spec.values.known.b"],
    ),
    (
        "an untyped preserving node keeps everything",
        {"spec": {"untyped": {"a": [{"b": 1}]}, "anyMap": {"k": {"z": 1}}}},
        {"spec": {"untyped": {"a": [{"b": 1}]}, "anyMap": {"k": {"z": 1}}}},
        [],
    ),
    (
        "embedded resources keep apiVersion, kind and ObjectMeta fields",
        {
            "spec": {
                "template": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p", "labels": {"a": "b"}, "junk": 1},
                    "spec": {"image": "nginx", "junk": 2},
                    "junk": 3,
                }
            }
        },
        {
            "spec": {
                "template": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p", "labels": {"a": "b"}},
                    "spec": {"image": "nginx"},
                }
            }
        },
        ["spec.template.metadata.junk", "spec.template.spec.junk", "spec.template.junk"],
    ),
    (
        "values of the wrong type are left for validation to report",
        {"spec": {"promotion": "yes", "targets": {"a": 1}}},
        {"spec": {"promotion": "yes", "targets": {"a": 1}}},
        [],
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected", "removed"), [c[1:] for c in PRUNE_CASES], ids=[c[0] for c in PRUNE_CASES]
)
def test_prune(obj: dict[str, Any], expected: dict[str, Any], removed: list[str]) -> None:
    """Pruning drops undeclared fields in place and names them for strict field validation."""
    assert SCHEMA.prune(obj) == removed
    assert obj == expected


def test_prune_then_default_then_validate_round_trip() -> None:
    """The write path leaves a valid object that a second pass does not change."""
    obj: dict[str, Any] = {"spec": {"targets": [{"namespace": "a", "x": 1}]}}
    SCHEMA.prune(obj)
    SCHEMA.default(obj)
    assert SCHEMA.validate(obj) == []
    again = copy.deepcopy(obj)
    assert SCHEMA.prune(again) == []
    SCHEMA.default(again)
    assert again == obj
