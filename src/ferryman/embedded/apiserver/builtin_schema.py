"""The upstream OpenAPI of the built-in kinds: loaded once, compiled into schema nodes on demand.

Kubernetes publishes every built-in type in ``api/openapi-spec/swagger.json``; a copy of the 1.32
document is vendored in ``upstream/`` (its README names the upstream commit). This module is the
only reader of that file. It gives:

- ``node(definition)``: the definition compiled into the same ``schema_model.Node`` tree the CRD
  engine walks (so pruning, unknown-field reporting and validation are shared), with each node's
  Go type recorded for decoding errors. Definitions are compiled once per process and shared:
  PodSpec appears under Pod, Deployment, Job… as one subtree. Recursive definitions (the CRD's
  ``JSONSchemaProps``) are cut with an open node, as the apiserver's own structural conversion does.
- ``swagger()``: the document itself, for the OpenAPI v2/v3 publication (``openapi.py``).

Type mapping (kube-openapi's): ``IntOrString`` is int-or-string, ``Quantity`` accepts a string or
a number (checked by ``builtin_decode``), ``RawExtension``/``FieldsV1``/``JSON`` keep any value.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

from ferryman.embedded.apiserver.schema_model import Node

SWAGGER_FILE = "swagger-v1.32.json.gz"
DEFINITIONS_PREFIX = "#/definitions/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
#: Definitions whose values are kept as they are (no schema below them).
_OPEN = frozenset(
    (
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
    )
)
_SCALARS = {
    ("integer", "int32"): "int32",
    ("integer", "int64"): "int64",
    ("integer", ""): "int",
    ("number", "double"): "float64",
    ("number", ""): "float64",
    ("boolean", ""): "bool",
    ("string", "byte"): "[]uint8",
}


@functools.cache
def swagger() -> dict[str, Any]:
    """The vendored upstream swagger document (parsed once per process)."""
    raw = resources.files("ferryman.embedded.apiserver").joinpath("upstream", SWAGGER_FILE)
    document: dict[str, Any] = json.loads(gzip.decompress(raw.read_bytes()))
    return document


def go_type_name(definition: str) -> str:
    """``io.k8s.api.apps.v1.DeploymentSpec`` → ``v1.DeploymentSpec`` (Go's reflect name)."""
    parts = definition.split(".")
    return ".".join(parts[-2:])


def ref_name(schema: dict[str, Any]) -> str:
    """The definition a property refers to ("" when it is inline)."""
    ref = schema.get("$ref", "")
    if not isinstance(ref, str) or not ref.startswith(DEFINITIONS_PREFIX):
        return ""
    return ref[len(DEFINITIONS_PREFIX) :]


class _Compiler:
    """Memoised compilation of definitions (see the module docstring)."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions
        self._done: dict[str, Node] = {}
        self._busy: set[str] = set()

    def definition(self, name: str) -> Node:
        found = self._done.get(name)
        if found is not None:
            return found
        go_type = go_type_name(name)
        if name in self._busy or name in _OPEN:
            return Node(preserve_unknown=True, go_type=go_type)
        if name == INT_OR_STRING:
            node = Node(int_or_string=True, go_type=go_type)
        elif name == QUANTITY:
            node = Node(go_type=go_type)  # string or number; builtin_decode parses it
        else:
            self._busy.add(name)
            try:
                node = self.schema(self._definitions[name], go_type=go_type)
            finally:
                self._busy.discard(name)
        self._done[name] = node
        return node

    def schema(self, raw: dict[str, Any], *, go_type: str = "") -> Node:
        ref = ref_name(raw)
        if ref:
            return self.definition(ref)
        typ = str(raw.get("type", ""))
        fmt = str(raw.get("format", ""))
        properties = {k: self.schema(v) for k, v in (raw.get("properties") or {}).items()}
        additional = raw.get("additionalProperties")
        additional_node = self.schema(additional) if isinstance(additional, dict) else None
        items = self.schema(raw["items"]) if isinstance(raw.get("items"), dict) else None
        if not go_type:
            go_type = _SCALARS.get((typ, fmt), _SCALARS.get((typ, ""), "string"))
            if items is not None:
                go_type = "[]" + items.go_type
            elif additional_node is not None:
                go_type = "map[string]" + additional_node.go_type
        return Node(
            type=typ or None,
            format=fmt or None,
            enum=tuple(raw["enum"]) if "enum" in raw else None,
            required=tuple(raw.get("required", ())),
            properties=properties,
            additional=additional_node,
            items=items,
            preserve_unknown=typ == "object" and not properties and additional_node is None,
            list_type=raw.get("x-kubernetes-list-type"),
            list_map_keys=tuple(raw.get("x-kubernetes-list-map-keys", ())),
            go_type=go_type,
        )


@functools.cache
def _compiler() -> _Compiler:
    return _Compiler(swagger()["definitions"])


def node(definition: str) -> Node:
    """The compiled schema of one definition (shared, immutable)."""
    return _compiler().definition(definition)


def go_struct(node_: Node) -> str:
    """The bare struct name Go puts in decoding errors (``v1.LeaseSpec`` → ``LeaseSpec``)."""
    return node_.go_type.rsplit(".", 1)[-1]
