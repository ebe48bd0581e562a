"""Per-kind checks and mutations applied to every write before it reaches the store.

Order follows Kubernetes: decode (built-ins: Go's decoding errors, ``builtin_decode``) → prune
(unknown fields collected for ``fieldValidation``) → default → validate. ObjectMeta is checked
here for every kind (each kind's name rule, label and annotation syntax). Built-in kinds then get
their defaults (``builtin_defaults``) and their Go validation (``builtin_validation``) on top of
the upstream schema's; Secrets get ``stringData`` folded in; namespaces their ``Active`` phase.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ferryman.embedded.apiserver import (
    auth,
    builtin_decode,
    builtin_defaults,
    builtin_schema,
    builtin_validation,
    crds,
    errors,
    names,
    schema_mutate,
    schema_validate,
)
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType
from ferryman.embedded.apiserver.schema_causes import go_quote
from ferryman.embedded.apiserver.store import dumps

_FIELD_VALIDATION = {"Strict", "Warn", "Ignore"}


@dataclass(frozen=True)
class WriteOptions:
    """Query options every write accepts, and who asks (``None``: the server itself)."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"
    force: bool = False
    force_given: bool = False  # the query named ``force`` at all (only apply may)
    requester: auth.User | None = None  # RBAC writes are checked for escalation against them

    def __post_init__(self) -> None:
        if self.field_validation not in _FIELD_VALIDATION:
            raise errors.bad_request(
                f"fieldValidation parameter {self.field_validation!r} is invalid: "
                'must be one of "Ignore", "Warn", or "Strict"'.replace("'", '"')
            )


def check_decodable(rt: ResourceType, obj: Any, *, patched: bool = False) -> dict[str, Any]:
    """Refuse bodies a Go client could not even decode (400 like the apiserver).

    Built-in kinds are decoded against their upstream schema (``builtin_decode``): a wrong type,
    time or quantity is a 400 ``… cannot be handled as a …``, or, for the result of a merge or
    JSON patch (``patched``), the 422 on the ``patch`` field kube-apiserver's patch handler gives.
    """
    if not isinstance(obj, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(obj)} into Go value of type struct"
        )
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if kind not in (None, "", rt.kind) or api_version not in (None, "", rt.api_version):
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({rt.api_version})"
            if kind in (None, "", rt.kind)
            else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    meta = obj.get("metadata", {})
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(meta)} into Go struct field "
            f"{rt.kind}.metadata of type v1.ObjectMeta"
        )
    if rt.definition:
        _decode_builtin(rt, obj, patched=patched)
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            meta.pop(key, None)
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise errors.bad_request(
                f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{key} of type "
                "map[string]string"
            )
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    return obj


def _decode_builtin(rt: ResourceType, obj: dict[str, Any], *, patched: bool) -> None:
    text = dumps(obj) if patched else ""
    try:
        builtin_decode.decode(builtin_schema.node(rt.definition), obj, rt.kind)
    except builtin_decode.DecodeError as exc:
        if patched:
            raise errors.invalid(
                "",
                "",
                "",
                [
                    StatusCause(
                        "FieldValueInvalid", f"Invalid value: {go_quote(text)}: {exc}", "patch"
                    )
                ],
            ) from exc
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {exc}'
        ) from exc


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "object"


def _name_problems(rt: ResourceType, name: str) -> list[str]:
    """The name rule of the kind (``ValidateObjectMeta``'s nameFn in each kind's validation)."""
    if rt.plural == "namespaces" and not rt.group:
        return names.dns1123_label_problems(name)
    if rt.plural == "services" and not rt.group:
        return names.dns1035_label_problems(name)
    if rt.group == "rbac.authorization.k8s.io":
        # RBAC names are path segments ("system:discovery"), as ValidateRBACName allows.
        problem = names.path_segment_problem(name)
        return [problem] if problem else []
    return names.subdomain_problems(name)


def validate_metadata(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Name, label and annotation rules of ObjectMeta (422 with causes)."""
    meta = obj["metadata"]
    name = meta.get("name", "")
    causes: list[StatusCause] = []
    if not name:
        causes.append(
            StatusCause(
                "FieldValueRequired",
                "Required value: name or generateName is required",
                "metadata.name",
            )
        )
    else:
        causes.extend(
            StatusCause(
                "FieldValueInvalid", f"Invalid value: {go_quote(name)}: {p}", "metadata.name"
            )
            for p in _name_problems(rt, name)
        )
    for key, value in (meta.get("labels") or {}).items():
        for problem in names.qualified_name_problems(key):
            causes.append(_invalid_meta("metadata.labels", key, problem))
        for problem in names.label_value_problems(value):
            causes.append(_invalid_meta("metadata.labels", value, problem))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        for problem in names.qualified_name_problems(key.lower()):
            causes.append(_invalid_meta("metadata.annotations", key, problem))
    if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
        causes.append(
            StatusCause(
                "FieldValueTooLong",
                "Too long: must have at most 262144 bytes",
                "metadata.annotations",
            )
        )
    finalizers = meta.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
    ):
        raise errors.bad_request(
            "json: cannot unmarshal into Go struct field ObjectMeta.metadata.finalizers of "
            "type []string"
        )
    if causes:
        raise errors.invalid(rt.kind, rt.group, name, causes)


def _invalid_meta(field: str, value: str, problem: str) -> StatusCause:
    return StatusCause("FieldValueInvalid", f"Invalid value: {go_quote(value)}: {problem}", field)


def admit(
    rt: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    opts: WriteOptions,
    *,
    now: str,
    allocator: builtin_defaults.Allocator | None = None,
) -> list[str]:
    """Kind-specific defaulting and validation; returns ``Warning`` header texts."""
    warnings: list[str] = []
    if rt.schema is not None:
        warnings = _admit_custom(rt, obj, old, opts)
    elif rt.definition:
        warnings = _admit_builtin(rt, obj, old, opts, now=now, allocator=allocator)
    return warnings


def _admit_builtin(
    rt: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    opts: WriteOptions,
    *,
    now: str,
    allocator: builtin_defaults.Allocator | None,
) -> list[str]:
    """Built-in kinds: unknown fields, kind rules and defaults, then validation (422)."""
    root = builtin_schema.node(rt.stored_definition or rt.definition)
    unknown: list[str] = []
    schema_mutate.prune(root, obj, "", unknown, root=True)
    meta_node = root.properties.get("metadata")
    if meta_node is not None:
        schema_mutate.prune(meta_node, obj["metadata"], "metadata", unknown)
    warnings = _unknown_fields(unknown, opts)
    if rt.plural == "secrets" and rt.group == "":
        _admit_secret(obj)
    elif rt.plural == "namespaces" and rt.group == "":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if not obj["metadata"].get("deletionTimestamp"):
            obj["status"] = {"phase": "Active"}
    elif rt.plural == "customresourcedefinitions":
        crds.prepare(obj, now=now, old=old)
    builtin_defaults.apply(rt, obj, old, allocator=allocator)
    causes = builtin_validation.validate(rt, obj, old)
    # The schema's checks (required fields, enums) where the kind's own rules said nothing.
    covered = [c.field for c in causes]
    for cause in schema_validate.validate_object(root, obj, old):
        below = (cause.field + ".", cause.field + "[")
        if not any(f == cause.field or f.startswith(below) for f in covered):
            causes.append(cause)
    if causes:
        raise errors.invalid(
            rt.kind,
            rt.group,
            obj["metadata"].get("name", ""),
            [StatusCause(c.type, c.message, c.field) for c in causes],
        )
    return warnings


def _unknown_fields(unknown: list[str], opts: WriteOptions) -> list[str]:
    """Strict: 400 naming every unknown field; Warn: one ``Warning`` each; Ignore: nothing."""
    if unknown and opts.field_validation == "Strict":
        raise errors.bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown)
        )
    if unknown and opts.field_validation == "Warn":
        return [f'unknown field "{p}"' for p in unknown]
    return []


def _admit_custom(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions
) -> list[str]:
    warnings = _unknown_fields(rt.schema.prune(obj), opts)
    rt.schema.default(obj)
    causes = rt.schema.validate(obj, old)
    if causes:
        raise errors.invalid(
            rt.kind,
            rt.group,
            obj["metadata"].get("name", ""),
            [StatusCause(c.type, c.message, c.field) for c in causes],
        )
    return warnings


def _admit_secret(obj: dict[str, Any]) -> None:
    """Fold ``stringData`` into ``data`` and default the type (types were checked at decoding)."""
    data = obj.get("data") or {}
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(value.encode()).decode()
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
