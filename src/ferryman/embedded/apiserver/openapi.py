"""OpenAPI: the ``/openapi/v3`` index, one v3 document per group-version, and ``/openapi/v2``.

kubectl needs these for its default ``apply``/``create``: it looks up each kind's PATCH operation
by ``x-kubernetes-group-version-kind`` in the v3 document and, finding a ``fieldValidation``
parameter, leaves validation to the server; for kinds without a PATCH operation (the review kinds)
and for ``kind: List`` files it validates on the client against ``/openapi/v2`` (protobuf, see
``openapi_v2``). ``kubectl explain`` reads the v3 component whose
``x-kubernetes-group-version-kind`` names the kind.

Built-in group-versions are converted from the vendored upstream swagger the way kube-openapi
builds the served v3 documents: ``#/definitions/`` becomes ``#/components/schemas/``, shared
parameters are inlined, body parameters become ``requestBody`` (one entry per ``consumes`` type)
and responses carry one ``content`` entry per ``produces`` type; a ``$ref`` with sibling keywords
is wrapped in ``allOf``. CRD group-versions carry the CRD's schema and the upstream ObjectMeta.
Documents are rebuilt only when the registry changes.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from ferryman.embedded.apiserver import builtin_schema
from ferryman.embedded.apiserver.registry import Registry, ResourceType

_SCHEMAS = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PATCH_REF = _SCHEMAS + _META + "Patch"
_CUSTOM_QUERY = {
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


# ------------------------------------------------------------------ v2 → v3 conversion
def _v3_schema(schema: Any) -> Any:
    """A swagger schema in OpenAPI 3.0 form (refs moved, ``$ref`` siblings under ``allOf``)."""
    if isinstance(schema, list):
        return [_v3_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: {name: _v3_schema(s) for name, s in v.items()} if k == "properties" else _v3_schema(v)
        for k, v in schema.items()
        if k != "$ref"
    }
    ref = builtin_schema.ref_name(schema)
    if not ref:
        return out
    if not out:
        return {"$ref": _SCHEMAS + ref}
    return {"allOf": [{"$ref": _SCHEMAS + ref}], **out}


def _parameter(raw: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    ref = raw.get("$ref", "")
    if ref.startswith("#/parameters/"):
        raw = shared[ref[len("#/parameters/") :]]
    return raw


def _v3_operation(op: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: v
        for k, v in op.items()
        if k not in ("parameters", "responses", "consumes", "produces", "schemes")
    }
    params = []
    for raw in op.get("parameters", []):
        param = _parameter(raw, shared)
        if param.get("in") == "body":
            schema = _v3_schema(param["schema"])
            out["requestBody"] = {
                "content": {c: {"schema": schema} for c in op.get("consumes", ["*/*"])},
                **({"required": True} if param.get("required") else {}),
            }
            continue
        v3 = {k: v for k, v in param.items() if k not in ("type", "uniqueItems", "format")}
        v3["schema"] = {k: param[k] for k in ("type", "uniqueItems", "format") if k in param}
        params.append(v3)
    if params:
        out["parameters"] = params
    responses = {}
    for code, response in op.get("responses", {}).items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        if "schema" in response:
            schema = _v3_schema(response["schema"])
            entry["content"] = {p: {"schema": schema} for p in op.get("produces", [])}
        responses[code] = entry
    out["responses"] = responses
    return out


def _refs(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref", "")
        if isinstance(ref, str) and ref.startswith(_SCHEMAS):
            found.add(ref[len(_SCHEMAS) :])
        for sub in value.values():
            _refs(sub, found)
    elif isinstance(value, list):
        for sub in value:
            _refs(sub, found)


def _components(roots: Iterable[str]) -> dict[str, Any]:
    """The v3 components of ``roots`` and every definition they reach."""
    definitions = builtin_schema.swagger()["definitions"]
    done: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in done or name not in definitions:
            continue
        done[name] = _v3_schema(definitions[name])
        found: set[str] = set()
        _refs(done[name], found)
        pending.extend(found - done.keys())
    return dict(sorted(done.items()))


def _prefix(group: str, version: str) -> str:
    return f"/apis/{group}/{version}/" if group else f"/api/{version}/"


def builtin_document(group: str, version: str) -> dict[str, Any]:
    """The v3 document of a built-in group-version, from the upstream swagger."""
    document = builtin_schema.swagger()
    shared = document.get("parameters", {})
    prefix = _prefix(group, version)
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        if not path.startswith(prefix):
            continue
        converted: dict[str, Any] = {
            m: _v3_operation(op, shared) for m, op in item.items() if m != "parameters"
        }
        if "parameters" in item:
            converted["parameters"] = [
                _v3_operation({"parameters": [p]}, shared)["parameters"][0]
                for p in item["parameters"]
            ]
        paths[path] = converted
    found: set[str] = set()
    _refs(paths, found)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": _components(found)},
    }


# ------------------------------------------------------------------------ CRDs
def _custom_schema_name(t: ResourceType) -> str:
    return ".".join(reversed(t.group.split("."))) + f".{t.version}.{t.kind}"


def _gvk(t: ResourceType) -> dict[str, str]:
    return {"group": t.group, "version": t.version, "kind": t.kind}


def _kind_schema(t: ResourceType) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if t.schema is not None:
        schema = dict(t.schema.to_openapi())
    properties = dict(schema.get("properties") or {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {
        "allOf": [{"$ref": _SCHEMAS + _META + "ObjectMeta"}],
        "default": {},
        "description": "Standard object's metadata.",
    }
    schema["properties"] = properties
    schema["x-kubernetes-group-version-kind"] = [_gvk(t)]
    return schema


def _param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": _CUSTOM_QUERY[name],
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
        content_types = (
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        )
        op["requestBody"] = {
            "content": {c: {"schema": {"$ref": _PATCH_REF}} for c in content_types},
            "required": True,
        }
    elif body:
        op["parameters"] = [_param(n) for n in ("dryRun", "fieldManager", "fieldValidation")]
        op["requestBody"] = {"content": {"*/*": {"schema": {"$ref": ref}}}, "required": True}
    return op


def _custom_paths(t: ResourceType, ref: str) -> dict[str, Any]:
    prefix = _prefix(t.group, t.version).rstrip("/")
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"{prefix}/{t.plural}"
    )
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


def custom_document(types: list[ResourceType]) -> dict[str, Any]:
    """The v3 document of a CRD group-version."""
    schemas = _components((_META + "ObjectMeta", _META + "Patch"))
    paths: dict[str, Any] = {}
    for t in types:
        name = _custom_schema_name(t)
        schemas[name] = _kind_schema(t)
        paths.update(_custom_paths(t, _SCHEMAS + name))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version, or None when it is not served."""
    types = registry.types(group, version)
    if not types:
        return None
    if all(t.definition for t in types):
        return builtin_document(group, version)
    return custom_document([t for t in types if not t.definition])


def v2_document(registry: Registry) -> dict[str, Any]:
    """``/openapi/v2``: the upstream swagger, limited to the served built-in group-versions."""
    document = builtin_schema.swagger()
    prefixes = tuple(
        _prefix(group, version)
        for group, versions in registry.groups().items()
        for version in versions
        if any(t.definition for t in registry.types(group, version))
    )
    served = copy.copy(document)
    served["paths"] = {p: v for p, v in document["paths"].items() if p.startswith(prefixes)}
    return served


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
                types = self._registry.types(group, version)
                if all(t.definition for t in types):
                    # Built-in documents never change: only their keys are recomputed.
                    self._hashes[key] = ""
                    continue
                self._docs[key], self._hashes[key] = _serialise(custom_document(types))
        self._revision = self._registry.revision

    def index(self) -> dict[str, Any]:
        """``GET /openapi/v3``."""
        self._refresh()
        paths = {}
        for key, digest in self._hashes.items():
            digest = digest or _builtin_serialised(key)[1]
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
        return {"paths": paths}

    def get(self, key: str) -> bytes | None:
        """``GET /openapi/v3/{key}`` (key like ``apis/g/v``), serialised."""
        self._refresh()
        if key not in self._hashes:
            return None
        return self._docs.get(key) or _builtin_serialised(key)[0]


def _serialise(doc: dict[str, Any]) -> tuple[bytes, str]:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return raw, hashlib.sha512(raw).hexdigest().upper()


@functools.cache
def _builtin_serialised(key: str) -> tuple[bytes, str]:
    """A built-in group-version's document and hash, built once per process (they never change)."""
    parts = key.split("/")
    group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
    return _serialise(builtin_document(group, version))
