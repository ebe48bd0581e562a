"""Structural-schema engine: what makes the embedded API server reject what a cluster rejects.

One ``StructuralSchema`` per served CRD version. The server calls, for every write of a custom
resource, in the apiserver's order: ``prune`` (its result is the strict-decoding
``unknown field`` list), ``default``, then ``validate`` (its causes go into a 422 ``Invalid``
Status). Construction compiles the schema once and raises ``SchemaError`` for a schema the real
apiserver would refuse, including CEL rules that cannot be compiled.

Module map: ``schema_model`` (compiled nodes, structural rules), ``schema_mutate`` (prune and
default), ``schema_validate`` (OpenAPI checks and CEL pass), ``schema_causes`` (Kubernetes
wording), ``cel`` (rule compilation and evaluation).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ferryman.embedded.apiserver import schema_causes, schema_model, schema_mutate, schema_validate

Cause = schema_causes.Cause
SchemaError = schema_model.SchemaError

# Where the served OpenAPI v3 document keeps ObjectMeta; the server must publish this component.
OBJECT_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values."
)
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase."
)
_METADATA_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

__all__ = ["OBJECT_META_REF", "Cause", "SchemaError", "StructuralSchema"]


class StructuralSchema:
    """One CRD version's openAPIV3Schema, compiled for prune/default/validate."""

    def __init__(self, openapi_v3_schema: Mapping[str, Any]) -> None:
        self._raw = copy.deepcopy(dict(openapi_v3_schema))
        self._root = schema_model.compile_schema(self._raw)
        _check_defaults(self._root, "openAPIV3Schema")

    @property
    def root(self) -> schema_model.Node:
        """The compiled root node (list types and map keys for server-side apply)."""
        return self._root

    def default(self, obj: dict[str, Any]) -> None:
        """Apply defaults in place wherever the parent of a defaulted field exists."""
        schema_mutate.default(self._root, obj, root=True)

    def prune(self, obj: dict[str, Any]) -> list[str]:
        """Drop unknown fields in place and return their paths (``spec.foo``, ``spec.l[0].x``)."""
        removed: list[str] = []
        schema_mutate.prune(self._root, obj, "", removed, root=True)
        return removed

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
        """Causes for everything the schema rejects; ``old`` enables CEL transition rules."""
        return schema_validate.validate_object(self._root, obj, old)

    def to_openapi(self) -> dict[str, Any]:
        """The schema as a real apiserver publishes it in /openapi/v3 (for kubectl explain).

        ``metadata`` becomes a reference to ``OBJECT_META_REF`` and apiVersion/kind get their
        standard descriptions, as the apiserver's OpenAPI builder does for every CRD.
        """
        published = copy.deepcopy(self._raw)
        properties = published.setdefault("properties", {})
        properties["apiVersion"] = {
            "description": _API_VERSION_DOC,
            "type": "string",
            **properties.get("apiVersion", {}),
        }
        properties["kind"] = {
            "description": _KIND_DOC,
            "type": "string",
            **properties.get("kind", {}),
        }
        properties["metadata"] = {
            "allOf": [{"$ref": OBJECT_META_REF}],
            "description": _METADATA_DOC,
        }
        return published


def _check_defaults(node: schema_model.Node, path: str) -> None:
    """A default must survive pruning and validate against its own schema (apiextensions)."""
    if node.default is not schema_model.MISSING:
        value = copy.deepcopy(node.default)
        removed: list[str] = []
        schema_mutate.prune(node, value, "", removed)
        if removed:
            raise SchemaError(
                f"{path}.default: Invalid value: must not have unknown fields: {', '.join(removed)}"
            )
        schema_mutate.default(node, value)
        causes = schema_validate.validate_value(node, value, f"{path}.default")
        if causes:
            raise SchemaError(f"{causes[0].field}: {causes[0].message}")
    children = [
        *((f"{path}.properties[{k}]", sub) for k, sub in node.properties.items()),
        *(((f"{path}.additionalProperties", node.additional),) if node.additional else ()),
        *(((f"{path}.items", node.items),) if node.items else ()),
    ]
    for child_path, sub in children:
        if sub.has_defaults or sub.default is not schema_model.MISSING:
            _check_defaults(sub, child_path)
