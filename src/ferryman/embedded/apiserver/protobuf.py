"""Decode the Kubernetes protobuf request bodies that ``kubectl`` 1.32 sends.

Why: ``kubectl create namespace|secret|configmap|serviceaccount|role|clusterrole|rolebinding|
clusterrolebinding`` and ``kubectl auth can-i`` POST ``application/vnd.kubernetes.protobuf``
bodies, and kubectl does not retry a 415 answer as JSON. The embedded API server stores JSON, so it
turns those bodies into the dict kubectl would have sent as JSON. Responses stay JSON: kubectl's
``Accept`` header lists ``application/json`` too, so no encoder is needed.

Wire format: the magic ``k8s\\x00`` then a ``runtime.Unknown`` message (``typeMeta{apiVersion,
kind}``, ``raw``, ``contentEncoding``, ``contentType``) whose ``raw`` is the object's message. The
field numbers below come from k8s.io/api ``generated.proto`` (core/v1, rbac/v1, authorization/v1)
and k8s.io/apimachinery ``meta/v1`` and ``runtime``. A hand-written decoder (varints and
length-delimited fields) is used instead of the ``protobuf`` package: a few dozen field tables are
simpler to read and check than generated descriptors, and add no dependency.

JSON equivalence: Go's protobuf marshalling writes every non-pointer field, empty or not, while
its JSON marshalling omits empty ``omitempty`` fields; so zero values (``""``, ``0``, ``false``,
empty messages) are dropped, except for pointer fields (``immutable``, ``controller``…) whose
presence carries meaning. Unknown field numbers are skipped, like protobuf readers do.

A little over 400 lines because most of it is the field table (``MESSAGES``), one entry per
message kubectl sends; the decoder itself is short.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not a decodable Kubernetes protobuf object.

    ``unsupported`` is true when the envelope is fine but the kind is not one this decoder knows
    (the server answers 415); otherwise the body is malformed (400).
    """

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


@dataclass(frozen=True)
class Field:
    """One message field: its JSON name, how to read it, and whether it is repeated/optional.

    ``kind`` is ``string``, ``bytes``, ``int``, ``bool``, ``time``, ``map`` (string to string),
    ``bytesmap`` (string to bytes, JSON base64), ``extramap`` (string to ExtraValue list) or the
    name of another message. ``keep_zero`` marks Go pointer fields, kept even when zero.
    """

    name: str
    kind: str
    repeated: bool = False
    keep_zero: bool = False


def _fields(*entries: tuple[int, Field]) -> dict[int, Field]:
    return dict(entries)


S, B, INT, BOOL = "string", "bytes", "int", "bool"

MESSAGES: dict[str, dict[int, Field]] = {
    "Unknown": _fields(
        (1, Field("typeMeta", "TypeMeta")),
        (2, Field("raw", B)),
        (3, Field("contentEncoding", S)),
        (4, Field("contentType", S)),
    ),
    "TypeMeta": _fields((1, Field("apiVersion", S)), (2, Field("kind", S))),
    "ObjectMeta": _fields(
        (1, Field("name", S)),
        (2, Field("generateName", S)),
        (3, Field("namespace", S)),
        (4, Field("selfLink", S)),
        (5, Field("uid", S)),
        (6, Field("resourceVersion", S)),
        (7, Field("generation", INT)),
        (8, Field("creationTimestamp", "time")),
        (9, Field("deletionTimestamp", "time")),
        (10, Field("deletionGracePeriodSeconds", INT, keep_zero=True)),
        (11, Field("labels", "map")),
        (12, Field("annotations", "map")),
        (13, Field("ownerReferences", "OwnerReference", repeated=True)),
        (14, Field("finalizers", S, repeated=True)),
    ),
    "OwnerReference": _fields(
        (1, Field("kind", S)),
        (3, Field("name", S)),
        (4, Field("uid", S)),
        (5, Field("apiVersion", S)),
        (6, Field("controller", BOOL, keep_zero=True)),
        (7, Field("blockOwnerDeletion", BOOL, keep_zero=True)),
    ),
    "LabelSelector": _fields(
        (1, Field("matchLabels", "map")),
        (2, Field("matchExpressions", "LabelSelectorRequirement", repeated=True)),
    ),
    "LabelSelectorRequirement": _fields(
        (1, Field("key", S)), (2, Field("operator", S)), (3, Field("values", S, repeated=True))
    ),
    # core/v1
    "Namespace": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("spec", "NamespaceSpec")),
        (3, Field("status", "NamespaceStatus")),
    ),
    "NamespaceSpec": _fields((1, Field("finalizers", S, repeated=True))),
    "NamespaceStatus": _fields((1, Field("phase", S))),
    "Secret": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("data", "bytesmap")),
        (3, Field("type", S)),
        (4, Field("stringData", "map")),
        (5, Field("immutable", BOOL, keep_zero=True)),
    ),
    "ConfigMap": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("data", "map")),
        (3, Field("binaryData", "bytesmap")),
        (4, Field("immutable", BOOL, keep_zero=True)),
    ),
    "ServiceAccount": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("secrets", "ObjectReference", repeated=True)),
        (3, Field("imagePullSecrets", "LocalObjectReference", repeated=True)),
        (4, Field("automountServiceAccountToken", BOOL, keep_zero=True)),
    ),
    "ObjectReference": _fields(
        (1, Field("kind", S)),
        (2, Field("namespace", S)),
        (3, Field("name", S)),
        (4, Field("uid", S)),
        (5, Field("apiVersion", S)),
        (6, Field("resourceVersion", S)),
        (7, Field("fieldPath", S)),
    ),
    "LocalObjectReference": _fields((1, Field("name", S))),
    # rbac/v1
    "Role": _fields(
        (1, Field("metadata", "ObjectMeta")), (2, Field("rules", "PolicyRule", repeated=True))
    ),
    "ClusterRole": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("rules", "PolicyRule", repeated=True)),
        (3, Field("aggregationRule", "AggregationRule")),
    ),
    "PolicyRule": _fields(
        (1, Field("verbs", S, repeated=True)),
        (2, Field("apiGroups", S, repeated=True)),
        (3, Field("resources", S, repeated=True)),
        (4, Field("resourceNames", S, repeated=True)),
        (5, Field("nonResourceURLs", S, repeated=True)),
    ),
    "AggregationRule": _fields((1, Field("clusterRoleSelectors", "LabelSelector", repeated=True))),
    "RoleBinding": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("subjects", "Subject", repeated=True)),
        (3, Field("roleRef", "RoleRef")),
    ),
    "Subject": _fields(
        (1, Field("kind", S)),
        (2, Field("apiGroup", S)),
        (3, Field("name", S)),
        (4, Field("namespace", S)),
    ),
    "RoleRef": _fields((1, Field("apiGroup", S)), (2, Field("kind", S)), (3, Field("name", S))),
    # authorization/v1
    "SelfSubjectAccessReview": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("spec", "SelfSubjectAccessReviewSpec")),
        (3, Field("status", "SubjectAccessReviewStatus")),
    ),
    "SelfSubjectAccessReviewSpec": _fields(
        (1, Field("resourceAttributes", "ResourceAttributes")),
        (2, Field("nonResourceAttributes", "NonResourceAttributes")),
    ),
    "SubjectAccessReview": _fields(
        (1, Field("metadata", "ObjectMeta")),
        (2, Field("spec", "SubjectAccessReviewSpec")),
        (3, Field("status", "SubjectAccessReviewStatus")),
    ),
    "SubjectAccessReviewSpec": _fields(
        (1, Field("resourceAttributes", "ResourceAttributes")),
        (2, Field("nonResourceAttributes", "NonResourceAttributes")),
        (3, Field("user", S)),
        (4, Field("groups", S, repeated=True)),
        (5, Field("extra", "extramap")),
        (6, Field("uid", S)),
    ),
    "ResourceAttributes": _fields(
        (1, Field("namespace", S)),
        (2, Field("verb", S)),
        (3, Field("group", S)),
        (4, Field("version", S)),
        (5, Field("resource", S)),
        (6, Field("subresource", S)),
        (7, Field("name", S)),
        (8, Field("fieldSelector", "FieldSelectorAttributes")),
        (9, Field("labelSelector", "LabelSelectorAttributes")),
    ),
    "FieldSelectorAttributes": _fields(
        (1, Field("rawSelector", S)),
        (2, Field("requirements", "LabelSelectorRequirement", repeated=True)),
    ),
    "LabelSelectorAttributes": _fields(
        (1, Field("rawSelector", S)),
        (2, Field("requirements", "LabelSelectorRequirement", repeated=True)),
    ),
    "NonResourceAttributes": _fields((1, Field("path", S)), (2, Field("verb", S))),
    "SubjectAccessReviewStatus": _fields(
        (1, Field("allowed", BOOL)),
        (4, Field("denied", BOOL)),
        (2, Field("reason", S)),
        (3, Field("evaluationError", S)),
    ),
    "ExtraValue": _fields((1, Field("items", S, repeated=True))),
    # authentication/v1 and authorization/v1: kubectl create token, auth whoami, can-i --list
    "TokenRequest": _fields(
        (1, Field("metadata", "ObjectMeta")), (2, Field("spec", "TokenRequestSpec"))
    ),
    "TokenRequestSpec": _fields(
        (1, Field("audiences", S, repeated=True)),
        (3, Field("boundObjectRef", "BoundObjectReference")),
        (4, Field("expirationSeconds", INT, keep_zero=True)),
    ),
    "BoundObjectReference": _fields(
        (1, Field("kind", S)),
        (2, Field("apiVersion", S)),
        (3, Field("name", S)),
        (4, Field("uid", S)),
    ),
    "SelfSubjectReview": _fields((1, Field("metadata", "ObjectMeta"))),
    "SelfSubjectRulesReview": _fields(
        (1, Field("metadata", "ObjectMeta")), (2, Field("spec", "SelfSubjectRulesReviewSpec"))
    ),
    "SelfSubjectRulesReviewSpec": _fields((1, Field("namespace", S))),
    "Time": _fields((1, Field("seconds", INT)), (2, Field("nanos", INT))),
}

# (apiVersion, kind) -> top-level message; LocalSubjectAccessReview shares SubjectAccessReview's.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "Secret"): "Secret",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
}


def decode(body: bytes) -> dict[str, Any]:
    """Return the JSON-equivalent dict of a protobuf request body, ``apiVersion``/``kind`` first."""
    if not body.startswith(MAGIC):
        raise ProtobufError(
            "the body is not a Kubernetes protobuf object: it does not start with the k8s magic"
        )
    envelope = _read_message(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if envelope.get("contentEncoding"):
        raise ProtobufError(
            f'protobuf content encoding "{envelope["contentEncoding"]}" is not supported',
            unsupported=True,
        )
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(
            f"protobuf bodies for {api_version or '(no apiVersion)'} {kind or '(no kind)'} are "
            "not supported by this server; send JSON instead (for example "
            "`kubectl create ... --dry-run=client -o yaml | kubectl apply -f -`)",
            unsupported=True,
        )
    raw = envelope.get("raw", b"")
    obj = _read_message(raw if isinstance(raw, bytes) else b"", message)
    return {"apiVersion": api_version, "kind": kind, **obj}


# --------------------------------------------------------------------------- wire reading


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    """Read a base-128 varint at ``position``; return (value, next position)."""
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise ProtobufError("malformed protobuf body: a varint runs past the end")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift >= 70:
            raise ProtobufError("malformed protobuf body: a varint is longer than 10 bytes")


def _fields_of(data: bytes) -> list[tuple[int, int, Any]]:
    """Split a message into (field number, wire type, raw value) triples, in wire order."""
    result: list[tuple[int, int, Any]] = []
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("malformed protobuf body: field number 0")
        value: Any
        if wire_type == 0:
            value, position = _read_varint(data, position)
        elif wire_type == 2:
            length, position = _read_varint(data, position)
            if position + length > len(data):
                raise ProtobufError("malformed protobuf body: a field runs past the end")
            value, position = data[position : position + length], position + length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            if position + size > len(data):
                raise ProtobufError("malformed protobuf body: a fixed-size field is cut short")
            value, position = data[position : position + size], position + size
        else:
            raise ProtobufError(f"malformed protobuf body: unsupported wire type {wire_type}")
        result.append((number, wire_type, value))
    return result


def _read_message(data: bytes, message: str) -> dict[str, Any]:
    """Decode ``data`` as ``message`` into its JSON form, dropping zero values (see module doc)."""
    table = MESSAGES[message]
    result: dict[str, Any] = {}
    for number, wire_type, raw in _fields_of(data):
        field = table.get(number)
        if field is None:
            continue
        value = _convert(field, wire_type, raw)
        if field.repeated:
            result.setdefault(field.name, []).append(value)
        elif field.kind in ("map", "bytesmap", "extramap"):
            result.setdefault(field.name, {}).update(value)
        else:
            result[field.name] = value
    return {name: value for name, value in result.items() if _kept(table, name, value)}


def _kept(table: Mapping[int, Field], name: str, value: Any) -> bool:
    """Whether a decoded value appears in the JSON form (zero values only for pointer fields)."""
    if value is None:
        return False
    zero = value is False or value == "" or value == {} or (type(value) is int and value == 0)
    if not zero:
        return True
    return any(field.name == name and field.keep_zero for field in table.values())


def _convert(field: Field, wire_type: int, raw: Any) -> Any:
    """Turn one raw wire value into its JSON form according to the field's kind."""
    expected = 0 if field.kind in (INT, BOOL) else 2
    if wire_type != expected:
        raise ProtobufError(
            f'malformed protobuf body: field "{field.name}" has wire type {wire_type}'
        )
    if field.kind == INT:
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if field.kind == BOOL:
        return bool(raw)
    if field.kind == S:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtobufError(
                f'malformed protobuf body: field "{field.name}" is not valid UTF-8'
            ) from exc
    if field.kind == B:
        return raw
    if field.kind in ("map", "bytesmap", "extramap"):
        return _map_entry(field, raw)
    if field.kind == "time":
        return _time(_read_message(raw, "Time"))
    return _read_message(raw, field.kind)


def _map_entry(field: Field, raw: bytes) -> dict[str, Any]:
    """Decode one map entry (key = field 1, value = field 2) into a one-item dict."""
    key, value = "", b""
    for number, wire_type, item in _fields_of(raw):
        if wire_type != 2:
            raise ProtobufError(f'malformed protobuf body: bad entry in map "{field.name}"')
        if number == 1:
            key = _convert(Field(field.name, S), 2, item)
        elif number == 2:
            value = item
    if field.kind == "bytesmap":
        return {key: base64.b64encode(value).decode("ascii")}
    if field.kind == "extramap":
        return {key: _read_message(value, "ExtraValue").get("items", [])}
    return {key: _convert(Field(field.name, S), 2, value)}


def _time(parts: Mapping[str, Any]) -> str | None:
    """meta/v1 Time (seconds, nanos) as RFC 3339 the way Go's JSON writes it; zero is null."""
    seconds = int(parts.get("seconds", 0))
    if not seconds and not parts.get("nanos"):
        return None
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
