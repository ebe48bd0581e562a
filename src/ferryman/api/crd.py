"""Generate the Pipeline CustomResourceDefinition from the pydantic models.

The models are the single source of truth; this module turns their JSON Schema into a Kubernetes
*structural* schema: ``$ref``s inlined, ``Optional`` unions collapsed (absence, not null, means
unset), titles and Python defaults dropped (defaults would be written into every stored object),
integers given ``format: int64``. Kubernetes extensions (list-map keys, CEL rules) come from the
models' ``json_schema_extra``. The original CRD's printer columns and status default are kept.
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
            "spec": schema_of(pipeline.PipelineSpec),
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
