"""Generate the Pipeline CustomResourceDefinition from the pydantic models.

The models are the single source of truth; this module turns their JSON Schema into a Kubernetes
*structural* schema: ``$ref``s inlined, ``Optional`` unions collapsed (absence, not null, means
unset), titles and Python defaults dropped (defaults would be written into every stored object),
integers given ``format: int64``. Kubernetes extensions (list-map keys, CEL rules) come from the
models' ``json_schema_extra``. The original CRD's printer columns and status default are kept.

Compatibility: the API server must accept every Pipeline the original CRD accepted (its own test
fixtures hold ``targets: []``, ``baseBranch: ""``, ``secretRef.name: ""``,
``appRef.apiVersion: ""``). So on the fields of the original spec (``ORIGINAL_SPEC_FIELDS``) the
schema keeps only what the original checked — types, enums, required fields — and Ferryman's own
bounds there (lengths, item counts, unique environment names, one strategy) are checked by the
controller, which reports a violation as ``Stalled`` with the field path (``api.validation``).
Fields Ferryman added keep every rule in the schema.
"""

from __future__ import annotations

import copy
from typing import Any

from ferryman.api import base, pipeline
from ferryman.api.status import PipelineStatus

PRINTER_COLUMNS: list[dict[str, str]] = [
    {"jsonPath": ".spec.appRef.kind", "name": "App Kind", "type": "string"},
    {"jsonPath": ".spec.appRef.name", "name": "App Name", "type": "string"},
    {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"},
    {
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "name": "Ready",
        "type": "string",
    },
    {
        "jsonPath": '.status.conditions[?(@.type=="Ready")].message',
        "name": "Status",
        "type": "string",
    },
]

_DROPPED_KEYS = frozenset({"title", "default", "$defs"})

# Every field of the original CRD's spec (weaveworks/pipeline-controller, config/crd/bases at
# 2ca1d66), as a path below ``spec`` ("[]" for a list's items). A test compares it with that CRD.
ORIGINAL_SPEC_FIELDS = frozenset(
    {
        "",
        ".appRef",
        ".appRef.apiVersion",
        ".appRef.kind",
        ".appRef.name",
        ".environments",
        ".environments[]",
        ".environments[].name",
        ".environments[].targets",
        ".environments[].targets[]",
        ".environments[].targets[].namespace",
        ".environments[].targets[].clusterRef",
        ".environments[].targets[].clusterRef.apiVersion",
        ".environments[].targets[].clusterRef.kind",
        ".environments[].targets[].clusterRef.name",
        ".environments[].targets[].clusterRef.namespace",
        *(
            f"{at}{field}"
            for at in (".promotion", ".environments[].promotion")
            for field in (
                "",
                ".manual",
                ".strategy",
                ".strategy.notification",
                ".strategy.pull-request",
                ".strategy.pull-request.baseBranch",
                ".strategy.pull-request.secretRef",
                ".strategy.pull-request.secretRef.name",
                ".strategy.pull-request.type",
                ".strategy.pull-request.url",
                ".strategy.secretRef",
                ".strategy.secretRef.name",
            )
        ),
    }
)
# What the original did not check on those fields: the controller checks it at run time.
RUNTIME_ONLY_KEYS = frozenset(
    {
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "pattern",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-validations",
    }
)


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Rewrite one JSON Schema node (recursively) into its structural-schema form."""
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    if "anyOf" in node:
        options = [option for option in node["anyOf"] if option.get("type") != "null"]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _structural({**options[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in {"properties", "patternProperties"}:
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _structural(value, defs)
    if out.get("type") == "integer":
        out.setdefault("format", "int64")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if out.get("type") == "object" and "properties" in out and not out["properties"]:
        del out["properties"]
    if out.get("required") == []:
        del out["required"]
    return out


def schema_of(model: type[base.WireModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of one model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    result: dict[str, Any] = _structural(raw, defs)
    return result


def _as_lenient_as_the_original(node: dict[str, Any], at: str = "") -> dict[str, Any]:
    """``node`` (the spec schema) without Ferryman's own bounds on the original's fields."""
    out = {
        key: value
        for key, value in node.items()
        if at not in ORIGINAL_SPEC_FIELDS or key not in RUNTIME_ONLY_KEYS
    }
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: _as_lenient_as_the_original(child, f"{at}.{name}")
            for name, child in out["properties"].items()
        }
    if isinstance(out.get("items"), dict):
        out["items"] = _as_lenient_as_the_original(out["items"], f"{at}[]")
    return out


def openapi_schema() -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the v1alpha1 version."""
    status = schema_of(PipelineStatus)
    status["default"] = {"observedGeneration": -1}
    status["properties"]["environments"]["maxProperties"] = pipeline.MAX_ENVIRONMENTS
    return {
        "description": "Pipeline is the Schema for the pipelines API",
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation.",
                "type": "string",
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource.",
                "type": "string",
            },
            "metadata": {"type": "object"},
            "spec": _as_lenient_as_the_original(schema_of(pipeline.PipelineSpec)),
            "status": status,
        },
    }


def custom_resource_definition() -> dict[str, Any]:
    """The whole CRD object, ready to dump as YAML."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{pipeline.PLURAL}.{pipeline.GROUP}"},
        "spec": {
            "group": pipeline.GROUP,
            "names": {
                "kind": pipeline.KIND,
                "listKind": f"{pipeline.KIND}List",
                "plural": pipeline.PLURAL,
                "singular": pipeline.KIND.lower(),
                "categories": ["ferryman"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": pipeline.VERSION,
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                    "subresources": {"status": {}},
                }
            ],
        },
    }
