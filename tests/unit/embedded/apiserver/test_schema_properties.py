"""Properties over random objects: validation never crashes; prune and default are idempotent."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryman.embedded.apiserver import schema

FIXTURES = Path(__file__).resolve().parents[4] / ".." / "shared" / "fixtures" / "crds"


def _load(name: str) -> schema.StructuralSchema:
    crd = yaml.safe_load((FIXTURES / name).read_text())
    return schema.StructuralSchema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


SYNTHETIC = schema.StructuralSchema(
    {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [
                    {"rule": "!has(self.name) || self.name.size() < 8", "message": "short name"},
                    {"rule": "!has(self.name) || !has(oldSelf.name) || self.name == oldSelf.name"},
                ],
                "properties": {
                    "name": {"type": "string", "default": "n", "pattern": "^[a-z]*$"},
                    "count": {"type": "integer", "nullable": True, "default": 1, "minimum": 0},
                    "ratio": {"type": "number", "maximum": 1.5, "multipleOf": 0.5},
                    "mode": {"x-kubernetes-int-or-string": True},
                    "labels": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "default": "v"},
                    },
                    "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "targets": {
                        "type": "array",
                        "maxItems": 3,
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "weight": {"type": "integer", "default": 1},
                                "cluster": {
                                    "type": "object",
                                    "default": {},
                                    "properties": {
                                        "kind": {
                                            "type": "string",
                                            "default": "GitopsCluster",
                                            "enum": ["GitopsCluster", "Secret"],
                                        }
                                    },
                                },
                            },
                        },
                    },
                },
                "anyOf": [{"required": ["name"]}, {"required": ["targets"]}],
            },
        },
    }
)
SCHEMAS = [
    SYNTHETIC,
    _load("original-pipelines.weave.works_pipelines.yaml"),
    _load("helm.toolkit.fluxcd.io_helmreleases.yaml"),
    _load("gitops.weave.works_gitopsclusters.yaml"),
]

# Keys the schemas know, so random objects reach deep into them, plus strangers to prune.
KEYS = st.sampled_from(
    [
        "spec",
        "status",
        "metadata",
        "name",
        "count",
        "ratio",
        "mode",
        "labels",
        "values",
        "targets",
        "weight",
        "cluster",
        "kind",
        "environments",
        "namespace",
        "appRef",
        "promotion",
        "strategy",
        "manual",
        "chart",
        "chartRef",
        "interval",
        "secretRef",
        "capiClusterRef",
        "conditions",
        "observedGeneration",
        "unknown",
        "x",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.text("abz-", max_size=9)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=4)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, len(SCHEMAS) - 1), obj=OBJECTS, old=st.none() | OBJECTS)
def test_validate_never_raises(index: int, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Any JSON object, valid or not, yields a list of causes, never an exception."""
    causes = SCHEMAS[index].validate(obj, old)
    assert all(isinstance(c, schema.Cause) and c.message for c in causes)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, len(SCHEMAS) - 1), obj=OBJECTS)
def test_prune_is_idempotent(index: int, obj: dict[str, Any]) -> None:
    """A pruned object has nothing left to prune."""
    s = SCHEMAS[index]
    s.prune(obj)
    pruned = copy.deepcopy(obj)
    assert s.prune(obj) == []
    assert obj == pruned


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, len(SCHEMAS) - 1), obj=OBJECTS)
def test_default_is_idempotent_and_adds_nothing_to_prune(index: int, obj: dict[str, Any]) -> None:
    """Defaulting twice equals defaulting once, and defaults never introduce unknown fields."""
    s = SCHEMAS[index]
    s.prune(obj)
    s.default(obj)
    once = copy.deepcopy(obj)
    s.default(obj)
    assert obj == once
    assert s.prune(obj) == []
