"""The four patch types: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge, apply.

``decode`` turns a body into a patch document (400 when malformed); ``apply_patch`` applies it to
the current object. Strategic merge is delegated to the ``strategic`` module through
``strategic_merge`` — the one place to change when its wiring changes. Apply patches are
approximated by a JSON merge of the applied configuration (no managed-fields conflicts yet).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import yaml

from ferryman.embedded.apiserver import errors, strategic

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
SUPPORTED = (JSON_PATCH, MERGE, STRATEGIC, APPLY)


def validate_options(content_type: str, field_manager: str, *, force_given: bool) -> None:
    """``ValidatePatchOptions`` (apimachinery meta/v1/validation): 422 ``PatchOptions``."""
    causes = []
    if content_type != APPLY and force_given:
        causes.append(
            errors.StatusCause(
                "FieldValueForbidden",
                "Forbidden: may not be specified for non-apply patch",
                "force",
            )
        )
    if content_type == APPLY and not field_manager:
        causes.append(
            errors.StatusCause(
                "FieldValueRequired", "Required value: is required for apply patch", "fieldManager"
            )
        )
    if len(field_manager) > 128:
        causes.append(
            errors.StatusCause(
                "FieldValueTooLong", "Too long: may not be more than 128 bytes", "fieldManager"
            )
        )
    if causes:
        raise errors.invalid("PatchOptions", "meta.k8s.io", "", causes)


def decode(content_type: str, body: bytes) -> Any:
    """Parse a patch body of ``content_type`` (already known to be one of ``SUPPORTED``)."""
    try:
        doc = yaml.safe_load(body.decode("utf-8")) if content_type == APPLY else json.loads(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from exc
    if content_type == JSON_PATCH:
        if not isinstance(doc, list):
            raise errors.bad_request(
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
            )
    elif not isinstance(doc, dict):
        raise errors.bad_request(
            f"error decoding patch: the patch must be a JSON object, got {type(doc).__name__}"
        )
    return doc


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902, including ``test``; a failing operation is 422 as in Kubernetes."""
    try:
        result = jsonpatch.JsonPatch(operations).apply(target)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        TypeError,
        KeyError,
    ) as exc:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    if not isinstance(result, dict):
        raise errors.ApiError(422, "Invalid", "the patch replaced the object with a non-object")
    return result


def strategic_merge(
    kind_key: str, original: dict[str, Any], patch: dict[str, Any]
) -> dict[str, Any]:
    """Strategic merge for built-in kinds, via the ``strategic`` module (see module docstring)."""
    try:
        return strategic.apply(kind_key, original, patch)
    except strategic.StrategicMergeError as exc:
        raise errors.ApiError(422, "Invalid", str(exc)) from exc


def apply_patch(
    content_type: str, kind_key: str, original: dict[str, Any], patch: Any
) -> dict[str, Any]:
    """Apply a decoded patch of ``content_type`` to a copy of ``original``."""
    if content_type == JSON_PATCH:
        return json_patch(original, patch)
    if content_type == STRATEGIC:
        return strategic_merge(kind_key, original, patch)
    result = merge(original, patch)
    if not isinstance(result, dict):
        raise errors.bad_request("the patch must be an object")
    return result
