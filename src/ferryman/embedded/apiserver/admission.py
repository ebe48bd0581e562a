"""Per-kind checks and mutations applied to every write before it reaches the store.

Order for custom resources follows Kubernetes: decode → prune (unknown fields collected for
``fieldValidation``) → default → validate. ObjectMeta is checked here for every kind (names are DNS
subdomains — namespaces DNS labels —, labels and annotations are string maps). Secrets get their
``data`` base64-checked and ``stringData`` folded in; namespaces get their ``Active`` phase.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from ferryman.embedded.apiserver import auth, crds, errors
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_FIELD_VALIDATION = {"Strict", "Warn", "Ignore"}


@dataclass(frozen=True)
class WriteOptions:
    """Query options every write accepts, and who asks (``None``: the server itself)."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"
    force: bool = False
    requester: auth.User | None = None  # RBAC writes are checked for escalation against them

    def __post_init__(self) -> None:
        if self.field_validation not in _FIELD_VALIDATION:
            raise errors.bad_request(
                f"fieldValidation parameter {self.field_validation!r} is invalid: "
                'must be one of "Ignore", "Warn", or "Strict"'.replace("'", '"')
            )


def check_decodable(rt: ResourceType, obj: Any) -> dict[str, Any]:
    """Refuse bodies a Go client could not even decode (400 like the apiserver)."""
    if not isinstance(obj, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(obj)} into Go value of type struct"
        )
    meta = obj.get("metadata", {})
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(meta)} into Go struct field "
            f"{rt.kind}.metadata of type v1.ObjectMeta"
        )
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
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if kind not in (None, "", rt.kind) or api_version not in (None, "", rt.api_version):
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({rt.api_version})"
            if kind in (None, "", rt.kind)
            else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    return obj


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
    elif rt.plural == "namespaces":
        if len(name) > 63 or not _LABEL.match(name):
            causes.append(
                StatusCause(
                    "FieldValueInvalid", f'Invalid value: "{name}": {_LABEL_MSG}', "metadata.name"
                )
            )
    elif rt.group == "rbac.authorization.k8s.io":
        # RBAC names are path segments ("system:discovery"), as ValidateRBACName allows.
        problem = _path_segment_problem(name)
        if problem:
            causes.append(
                StatusCause(
                    "FieldValueInvalid", f'Invalid value: "{name}": {problem}', "metadata.name"
                )
            )
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        causes.append(
            StatusCause(
                "FieldValueInvalid", f'Invalid value: "{name}": {_SUBDOMAIN_MSG}', "metadata.name"
            )
        )
    for value in (meta.get("labels") or {}).values():
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                StatusCause(
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid label must be an empty string or '
                    f"consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                    "metadata.labels",
                )
            )
    annotations = meta.get("annotations") or {}
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


def _path_segment_problem(name: str) -> str:
    """Why ``name`` is not a valid path segment name ("" when it is)."""
    if name in (".", ".."):
        return f"may not be '{name}'"
    for char in ("/", "%"):
        if char in name:
            return f"may not contain '{char}'"
    return ""


def admit(
    rt: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    opts: WriteOptions,
    *,
    now: str,
) -> list[str]:
    """Kind-specific defaulting and validation; returns ``Warning`` header texts."""
    warnings: list[str] = []
    if rt.schema is not None:
        warnings = _admit_custom(rt, obj, old, opts)
    elif rt.plural == "secrets" and rt.group == "":
        _admit_secret(obj)
    elif rt.plural == "namespaces" and rt.group == "":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if not obj["metadata"].get("deletionTimestamp"):
            obj["status"] = {"phase": "Active"}
    elif rt.plural == "customresourcedefinitions":
        crds.prepare(obj, now=now, old=old)
    return warnings


def _admit_custom(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions
) -> list[str]:
    unknown = rt.schema.prune(obj)
    warnings: list[str] = []
    if unknown and opts.field_validation == "Strict":
        raise errors.bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown)
        )
    if unknown and opts.field_validation == "Warn":
        warnings = [f'unknown field "{p}"' for p in unknown]
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


_B64_ALPHABET = re.compile(r"[^A-Za-z0-9+/=]")


def _admit_secret(obj: dict[str, Any]) -> None:
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        raise errors.bad_request(
            'Secret in version "v1" cannot be handled as a Secret: data must be an object'
        )
    for key, value in data.items():
        if not isinstance(value, str):
            raise errors.bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal '
                f"{_json_type(value)} into Go struct field Secret.data of type []uint8"
            )
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            bad = _B64_ALPHABET.search(value)
            at = bad.start() if bad else len(value)
            raise errors.bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                f"input byte {at}"
            ) from None
        del key
    string_data = obj.pop("stringData", None) or {}
    if not isinstance(string_data, dict) or not all(
        isinstance(v, str) for v in string_data.values()
    ):
        raise errors.bad_request(
            'Secret in version "v1" cannot be handled as a Secret: stringData must be a map '
            "of strings"
        )
    for key, value in string_data.items():
        data[key] = base64.b64encode(value.encode()).decode()
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
