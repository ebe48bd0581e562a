"""OpenAPI v3: the ``/openapi/v3`` index and one document per group-version.

kubectl needs these for its default ``apply``: it looks up each kind's PATCH operation by
``x-kubernetes-group-version-kind`` and, finding a ``fieldValidation`` parameter, leaves validation
to the server (``fieldValidation=Strict``). ``kubectl explain`` reads the component schema whose
``x-kubernetes-group-version-kind`` names the kind; for CRDs that is the CRD's own schema.
Documents are rebuilt only when the registry changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ferryman.embedded.apiserver.registry import Registry, ResourceType

_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_PATCH_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_OBJECT_META = {
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {
            "type": "string",
            "description": "Optional prefix for a server-generated name.",
        },
        "namespace": {
            "type": "string",
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "labels": {
            **_STRING_MAP,
            "description": "Map of string keys and values used to organize and categorize objects.",
        },
        "annotations": {
            **_STRING_MAP,
            "description": "Unstructured key value map stored with a resource.",
        },
        "finalizers": {
            "type": "array",
            "items": {"type": "string", "default": ""},
            "x-kubernetes-list-type": "set",
            "description": "Must be empty before the object is deleted from the registry.",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "description": "Objects depended by this object.",
        },
        "uid": {
            "type": "string",
            "description": "UID is the unique in time and space value for this object.",
        },
        "resourceVersion": {
            "type": "string",
            "description": "An opaque value that represents the internal version of this object.",
        },
        "generation": {
            "type": "integer",
            "format": "int64",
            "description": (
                "A sequence number representing a specific generation of the desired state."
            ),
        },
        "creationTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "Server time when this object was created.",
        },
        "deletionTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "Time at which this resource will be deleted.",
        },
        "managedFields": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    },
}
_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
#: Extra top-level properties of built-in kinds (enough for explain and apply; the rest is open).
_BUILTIN_PROPERTIES: dict[str, dict[str, Any]] = {
    "ConfigMap": {
        "data": _STRING_MAP,
        "binaryData": {
            "type": "object",
            "additionalProperties": {"type": "string", "format": "byte"},
        },
        "immutable": {"type": "boolean"},
    },
    "Secret": {
        "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
        "stringData": _STRING_MAP,
        "type": {"type": "string"},
        "immutable": {"type": "boolean"},
    },
}
_QUERY = {
    "fieldValidation": (
        "fieldValidation instructs the server on how to handle objects in "
        "the request containing unknown or duplicate fields: Ignore, Warn or Strict."
    ),
    "dryRun": (
        "When present, indicates that modifications should not be persisted. Valid values: All."
    ),
    "fieldManager": (
        "fieldManager is a name associated with the actor or entity that is making these changes."
    ),
    "force": 'Force is going to "force" Apply requests.',
}


def _schema_name(t: ResourceType) -> str:
    if t.is_custom:
        return ".".join(reversed(t.group.split("."))) + f".{t.version}.{t.kind}"
    package = {
        "": "core",
        "events.k8s.io": "events",
        "coordination.k8s.io": "coordination",
        "rbac.authorization.k8s.io": "rbac",
        "authorization.k8s.io": "authorization",
        "authentication.k8s.io": "authentication",
    }.get(t.group)
    if package is None:
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{t.version}.{t.kind}"
    return f"io.k8s.api.{package}.{t.version}.{t.kind}"


def _gvk(t: ResourceType) -> dict[str, str]:
    return {"group": t.group, "version": t.version, "kind": t.kind}


def _kind_schema(t: ResourceType) -> dict[str, Any]:
    if t.schema is not None:
        schema = dict(t.schema.to_openapi())
        schema["properties"] = dict(schema.get("properties") or {})
    else:
        schema = {
            "type": "object",
            "description": f"{t.kind} of the {t.api_version} API.",
            "properties": dict.fromkeys(("spec", "status"), _OPEN)
            if t.kind not in _BUILTIN_PROPERTIES
            else dict(_BUILTIN_PROPERTIES[t.kind]),
        }
    schema["properties"].update(
        {
            "apiVersion": {
                "type": "string",
                "description": (
                    "APIVersion defines the versioned schema of this representation of an object."
                ),
            },
            "kind": {
                "type": "string",
                "description": (
                    "Kind is a string value representing the REST resource this object represents."
                ),
            },
            "metadata": {
                "allOf": [{"$ref": _META_REF}],
                "default": {},
                "description": "Standard object's metadata.",
            },
        }
    )
    schema["x-kubernetes-group-version-kind"] = [_gvk(t)]
    return schema


def _param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": _QUERY[name],
        "schema": {"type": "boolean" if name == "force" else "string", "uniqueItems": True},
    }


def _operation(
    t: ResourceType, action: str, ref: str, *, body: bool = False, patch: bool = False
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{action}{t.kind}",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(t),
    }
    if patch:
        op["parameters"] = [
            _param(n) for n in ("dryRun", "fieldManager", "fieldValidation", "force")
        ]
        content_types = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ]
        if not t.is_custom:
            content_types.append("application/strategic-merge-patch+json")
        op["requestBody"] = {
            "content": {c: {"schema": {"$ref": _PATCH_REF}} for c in content_types},
            "required": True,
        }
    elif body:
        op["parameters"] = [_param(n) for n in ("dryRun", "fieldManager", "fieldValidation")]
        op["requestBody"] = {"content": {"*/*": {"schema": {"$ref": ref}}}, "required": True}
    return op


def _paths(t: ResourceType, ref: str) -> dict[str, Any]:
    prefix = f"/apis/{t.group}/{t.version}" if t.group else "/api/v1"
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"{prefix}/{t.plural}"
    )
    if t.verbs == ("create",):
        return {collection: {"post": _operation(t, "post", ref, body=True)}}
    item = f"{collection}/{{name}}"
    paths: dict[str, Any] = {
        collection: {
            "get": _operation(t, "list", ref),
            "post": _operation(t, "post", ref, body=True),
        },
        item: {
            "get": _operation(t, "get", ref),
            "put": _operation(t, "put", ref, body=True),
            "patch": _operation(t, "patch", ref, patch=True),
            "delete": _operation(t, "delete", ref),
        },
    }
    if t.status:
        paths[f"{item}/status"] = {
            "get": _operation(t, "get", ref),
            "put": _operation(t, "put", ref, body=True),
            "patch": _operation(t, "patch", ref, patch=True),
        }
    return paths


def document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version, or None when it is not served."""
    types = registry.types(group, version)
    if not types:
        return None
    schemas: dict[str, Any] = {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": _OBJECT_META,
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
            "type": "object",
            "description": (
                "Patch is provided to give a concrete name and type to the "
                "Kubernetes PATCH request body."
            ),
        },
    }
    paths: dict[str, Any] = {}
    for t in types:
        name = _schema_name(t)
        schemas[name] = _kind_schema(t)
        paths.update(_paths(t, f"#/components/schemas/{name}"))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


class OpenAPICache:
    """Documents and their hashes, recomputed when the registry's revision moves."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._revision = -1
        self._docs: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}

    def _refresh(self) -> None:
        if self._revision == self._registry.revision:
            return
        self._docs, self._hashes = {}, {}
        for group, versions in self._registry.groups().items():
            for version in versions:
                key = f"apis/{group}/{version}" if group else f"api/{version}"
                doc = document(self._registry, group, version)
                if doc is None:
                    continue
                raw = json.dumps(doc, separators=(",", ":")).encode()
                self._docs[key] = raw
                self._hashes[key] = hashlib.sha512(raw).hexdigest().upper()
        self._revision = self._registry.revision

    def index(self) -> dict[str, Any]:
        """``GET /openapi/v3``."""
        self._refresh()
        return {
            "paths": {
                k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={h}"}
                for k, h in self._hashes.items()
            }
        }

    def get(self, key: str) -> bytes | None:
        """``GET /openapi/v3/{key}`` (key like ``apis/g/v``), serialised."""
        self._refresh()
        return self._docs.get(key)
