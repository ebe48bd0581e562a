"""The create-only review kinds: TokenReview, SelfSubjectReview and the three access reviews.

Why one module: these endpoints store nothing; each turns a request body into the same object
with a ``status`` computed from the token table (who is this token?) or from the stored RBAC
objects (may this subject do that?), which is what Ferryman's approval API asks the server before
it records an approval. Bodies a Go client could not decode are 400; specs Kubernetes' validation
refuses are 422 ``Invalid`` — both as clear sentences.
"""

from __future__ import annotations

from typing import Any

from ferryman.embedded.apiserver import auth, errors, rbac
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType


def _object(rt: ResourceType, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, spec) of a review body, or 400 when either is not an object."""
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of a {rt.kind} must be a JSON object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if kind not in (None, "", rt.kind) or api_version not in (None, "", rt.api_version):
        raise errors.bad_request(
            f"the body is a {api_version} {kind}, but this endpoint accepts only "
            f"{rt.api_version} {rt.kind}"
        )
    meta, spec = body.get("metadata") or {}, body.get("spec")
    if spec is None:
        spec = {}
    for name, value in (("metadata", meta), ("spec", spec)):
        if not isinstance(value, dict):
            raise errors.bad_request(
                f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                f"{rt.kind}.{name} of type object: {rt.kind}.{name} must be an object"
            )
    return meta, spec


def _answer(
    rt: ResourceType, meta: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "metadata": {**meta, "creationTimestamp": None},
        "spec": spec,
        "status": status,
    }


async def token_review(rt: ResourceType, body: Any, tokens: auth.TokenTable) -> dict[str, Any]:
    """Who owns ``spec.token``: ``authenticated`` with the user, or ``authenticated: false``."""
    meta, spec = _object(rt, body)
    token = spec.get("token")
    if token is not None and not isinstance(token, str):
        raise errors.bad_request(
            "json: cannot unmarshal into Go struct field TokenReviewSpec.spec.token of type "
            "string: spec.token must be a string"
        )
    if not token:
        raise errors.invalid(
            rt.kind,
            rt.group,
            "",
            [
                StatusCause(
                    "FieldValueRequired", "Required value: a token is required", "spec.token"
                )
            ],
        )
    audiences = spec.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise errors.bad_request("spec.audiences must be a list of strings")
    found = await tokens.lookup(token)
    status: dict[str, Any]
    if found is None:
        status = {"authenticated": False, "user": {}}
    else:
        user: dict[str, Any] = {"username": found.name, "groups": list(found.groups)}
        if found.uid:
            user["uid"] = found.uid
        status = {"authenticated": True, "user": user}
        if audiences:
            # Token-file tokens are valid for every audience, so the answer names the asked ones.
            status["audiences"] = list(audiences)
    return _answer(rt, meta, spec, status)


def self_subject_review(rt: ResourceType, body: Any, requester: auth.User) -> dict[str, Any]:
    """``kubectl auth whoami``: the requester as the server sees it."""
    meta, spec = _object(rt, body)
    info: dict[str, Any] = {"username": requester.name, "groups": list(requester.groups)}
    if requester.uid:
        info["uid"] = requester.uid
    if requester.extra:
        info["extra"] = {key: list(values) for key, values in requester.extra.items()}
    return _answer(rt, meta, spec, {"userInfo": info})


def self_subject_rules_review(
    rt: ResourceType, body: Any, requester: auth.User, rbac_store: rbac.RBACStore
) -> dict[str, Any]:
    """``kubectl auth can-i --list``: the rules RBAC grants the requester in a namespace."""
    meta, spec = _object(rt, body)
    namespace = spec.get("namespace") or ""
    if not isinstance(namespace, str):
        raise errors.bad_request("spec.namespace must be a string")
    rules, problems = rbac.user_rules(rbac_store, requester.to_rbac(), namespace)
    resource_rules, non_resource_rules = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            non_resource_rules.append(
                {"verbs": list(rule.get("verbs") or []), "nonResourceURLs": rule["nonResourceURLs"]}
            )
            continue
        entry = {
            "verbs": list(rule.get("verbs") or []),
            "apiGroups": list(rule.get("apiGroups") or []),
            "resources": list(rule.get("resources") or []),
        }
        if rule.get("resourceNames"):
            entry["resourceNames"] = list(rule["resourceNames"])
        resource_rules.append(entry)
    status: dict[str, Any] = {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": bool(problems),
    }
    if problems:
        status["evaluationError"] = ", ".join(problems)
    return _answer(rt, meta, spec, status)


def access_review(
    rt: ResourceType,
    body: Any,
    *,
    requester: auth.User,
    namespace: str,
    rbac_store: rbac.RBACStore,
) -> dict[str, Any]:
    """(Self|Local)SubjectAccessReview evaluated with ``rbac`` against the stored objects."""
    meta, spec = _object(rt, body)
    for key in ("resourceAttributes", "nonResourceAttributes"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise errors.bad_request(f"spec.{key} must be an object")
    groups = spec.get("groups")
    if groups is not None and (
        not isinstance(groups, list) or not all(isinstance(g, str) for g in groups)
    ):
        raise errors.bad_request("spec.groups must be a list of strings")
    extra = spec.get("extra")
    if extra is not None and (
        not isinstance(extra, dict)
        or not all(
            isinstance(v, list) and all(isinstance(i, str) for i in v) for v in extra.values()
        )
    ):
        raise errors.bad_request("spec.extra must map strings to lists of strings")
    if rt.kind == "LocalSubjectAccessReview":
        spec = _localized(rt, meta, spec, namespace)
    user = requester.to_rbac() if rt.kind == "SelfSubjectAccessReview" else None
    try:
        status = rbac.subject_access_review_status(rbac_store, spec, user=user)
    except rbac.InvalidReviewError as exc:
        raise errors.invalid(
            rt.kind, rt.group, "", [StatusCause("FieldValueInvalid", str(exc), "spec")]
        ) from exc
    return _answer(rt, meta, spec, status)


def _localized(
    rt: ResourceType, meta: dict[str, Any], spec: dict[str, Any], namespace: str
) -> dict[str, Any]:
    """A LocalSubjectAccessReview asks about its own namespace only (422 otherwise)."""
    causes: list[StatusCause] = []
    if meta.get("namespace") not in (None, "", namespace):
        causes.append(
            StatusCause(
                "FieldValueInvalid",
                f'Invalid value: "{meta["namespace"]}": must match the namespace of the request '
                f'("{namespace}")',
                "metadata.namespace",
            )
        )
    if spec.get("nonResourceAttributes"):
        causes.append(
            StatusCause(
                "FieldValueInvalid",
                "Invalid value: disallowed on this kind of request",
                "spec.nonResourceAttributes",
            )
        )
    resource = dict(spec.get("resourceAttributes") or {})
    if resource.get("namespace") not in (None, "", namespace):
        causes.append(
            StatusCause(
                "FieldValueInvalid",
                f'Invalid value: "{resource["namespace"]}": must match metadata.namespace',
                "spec.resourceAttributes.namespace",
            )
        )
    if causes:
        raise errors.invalid(rt.kind, rt.group, "", causes)
    meta["namespace"] = namespace
    if resource:
        resource["namespace"] = namespace
        return {**spec, "resourceAttributes": resource}
    return spec
