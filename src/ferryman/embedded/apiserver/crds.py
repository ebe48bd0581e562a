"""CustomResourceDefinitions: validate, default and establish them, and derive their served types.

A CRD is established synchronously on create: the server fills ``status`` (``NamesAccepted`` and
``Established`` True, ``acceptedNames``, ``storedVersions``) before storing it, and the caller
registers the returned types at once, so a client can use the kind in its next request.
"""

from __future__ import annotations

import re
from typing import Any

from ferryman.embedded.apiserver import errors, jsonpath, registry, schema
from ferryman.embedded.apiserver.errors import StatusCause


def _invalid(
    name: str, field: str, message: str, kind: str = "FieldValueInvalid"
) -> errors.ApiError:
    return errors.invalid(
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        name,
        [StatusCause(kind, message, field)],
    )


def prepare(crd: dict[str, Any], *, now: str, old: dict[str, Any] | None) -> None:
    """Default and validate ``crd`` in place and set its status (raises 422 ``ApiError``)."""
    name = crd["metadata"]["name"]
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        raise _invalid(name, "spec", "Required value", "FieldValueRequired")
    group, names = spec.get("group"), spec.get("names")
    if not isinstance(group, str) or not group:
        raise _invalid(name, "spec.group", "Required value", "FieldValueRequired")
    if not isinstance(names, dict) or not names.get("plural") or not names.get("kind"):
        raise _invalid(name, "spec.names.plural", "Required value", "FieldValueRequired")
    if name != f"{names['plural']}.{group}":
        raise _invalid(
            name,
            "metadata.name",
            f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
        )
    names.setdefault("singular", str(names["kind"]).lower())
    names.setdefault("listKind", f"{names['kind']}List")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        raise _invalid(
            name,
            "spec.scope",
            f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"',
            "FieldValueNotSupported",
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        raise _invalid(
            name,
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
            "FieldValueRequired",
        )
    storage = [v.get("name") for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        raise _invalid(
            name,
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        )
    types_for(crd)  # compiles every schema and column; refuses what we cannot enforce
    now_conditions = {c.get("type"): c for c in (old or {}).get("status", {}).get("conditions", [])}

    def condition(ctype: str, reason: str, message: str) -> dict[str, Any]:
        previous = now_conditions.get(ctype)
        since = previous.get("lastTransitionTime", now) if previous else now
        return {
            "type": ctype,
            "status": "True",
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }

    stored = list((old or {}).get("status", {}).get("storedVersions", []))
    if storage[0] not in stored:
        stored.append(storage[0])
    crd["status"] = {
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "acceptedNames": {
            k: names[k]
            for k in ("plural", "singular", "kind", "listKind", "shortNames", "categories")
            if k in names
        },
        "storedVersions": stored,
    }


_SELECTABLE_PATH = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _selectable_fields(name: str, index: int, version: dict[str, Any]) -> tuple[str, ...]:
    """``selectableFields`` as field-selector labels (``.spec.color`` → ``spec.color``).

    apiextensions allows at most 8 simple paths to scalar fields; ``metadata.name`` and
    ``metadata.namespace`` are always selectable and may not be listed.
    """
    fields = version.get("selectableFields") or []
    path = f"spec.versions[{index}].selectableFields"
    if len(fields) > 8:
        raise _invalid(
            name, path, f"Too many: {len(fields)}: must have at most 8 items", "FieldValueTooMany"
        )
    labels = []
    for j, entry in enumerate(fields):
        json_path = str((entry or {}).get("jsonPath", ""))
        if not _SELECTABLE_PATH.match(json_path) or json_path.startswith(".metadata."):
            raise _invalid(
                name,
                f"{path}[{j}].jsonPath",
                f"Invalid value: {json_path!r}: must be a simple path to a field of the object "
                "outside metadata",
            )
        labels.append(json_path[1:])
    return tuple(labels)


def types_for(crd: dict[str, Any]) -> list[registry.ResourceType]:
    """One ``ResourceType`` per served version of ``crd``."""
    name = crd["metadata"]["name"]
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for i, version in enumerate(spec["versions"]):
        if not version.get("served", True):
            continue
        openapi = (version.get("schema") or {}).get("openAPIV3Schema")
        structural = None
        if isinstance(openapi, dict):
            try:
                structural = schema.StructuralSchema(openapi)
            except Exception as exc:  # the schema engine's refusal, whatever its class
                raise _invalid(
                    name, f"spec.versions[{i}].schema.openAPIV3Schema", f"Invalid value: {exc}"
                ) from exc
        try:
            columns = tuple(
                registry.column_from_crd(c) for c in version.get("additionalPrinterColumns") or []
            )
        except (jsonpath.JSONPathError, KeyError) as exc:
            raise _invalid(
                name, f"spec.versions[{i}].additionalPrinterColumns", f"Invalid value: {exc}"
            ) from exc
        field_labels = _selectable_fields(name, i, version)
        if not columns:
            columns = (
                registry.Column(
                    "Age", "date", path=jsonpath.compile_path(".metadata.creationTimestamp")
                ),
            )
        out.append(
            registry.ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular", names["kind"].lower()),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status="status" in (version.get("subresources") or {}),
                crd=name,
                schema=structural,
                columns=columns,
                generation=True,
                field_labels=field_labels,
            )
        )
    return out
