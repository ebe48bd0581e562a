"""Semantic validation of built-in kinds: the rules of kubernetes ``pkg/apis/<group>/validation``.

The upstream schema (``builtin_schema``) only knows types, enums and required fields; what users and
controllers meet beyond that lives in Go validation functions, re-implemented here per kind with
their field paths and wording (each function names its upstream counterpart). ``validate`` runs
after defaulting, with the old object on updates, and returns the causes of a 422 ``Invalid``.
Workload kinds (pods and their templates, Deployments, Jobs…) are in ``workload_validation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ferryman.embedded.apiserver import names, workload_validation
from ferryman.embedded.apiserver.registry import ResourceType
from ferryman.embedded.apiserver.schema_causes import (
    Cause,
    forbidden,
    go_quote,
    invalid,
    not_supported,
    required,
    too_long,
)

RBAC_GROUP = "rbac.authorization.k8s.io"
_IMMUTABLE_SET = "field is immutable when `immutable` is set"
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
    "'[-._a-zA-Z0-9]+')"
)
_MAX_CONFIG_BYTES = 1024 * 1024

Validator = Callable[[dict[str, Any], dict[str, Any] | None, ResourceType], list[Cause]]


def validate(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    """Causes for everything the kind's Go validation refuses ([] when valid)."""
    validator = _VALIDATORS.get(f"{rt.group}/{rt.plural}") or workload_validation.VALIDATORS.get(
        f"{rt.group}/{rt.plural}"
    )
    return validator(obj, old, rt) if validator is not None else []


# ------------------------------------------------------------------ ConfigMap, Secret
def _config_keys(data: dict[str, Any], path: str) -> list[Cause]:
    """``IsConfigMapKey`` for every key of ``data``/``binaryData``."""
    causes = []
    for key in data:
        problem = ""
        if len(key) > 253:
            problem = "must be no more than 253 characters"
        elif not _CONFIG_KEY.match(key):
            problem = _CONFIG_KEY_MSG
        elif key in (".", ".."):
            problem = f"must not be '{key}'"
        elif key.startswith(".."):
            problem = "must not start with '..'"
        if problem:
            causes.append(invalid(f"{path}[{key}]", key, problem))
    return causes


def validate_configmap(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateConfigMap`` and ``ValidateConfigMapUpdate`` (pkg/apis/core/validation)."""
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    causes: list[Cause] = []
    if old is not None and old.get("immutable") is True:
        causes.extend(_immutable(obj, old, ("data", "binaryData")))
    causes += _config_keys(data, "data") + _config_keys(binary, "binaryData")
    for key in data:
        if key in binary:
            causes.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    size = sum(len(k) + len(v) for k, v in data.items()) + sum(
        len(k) + len(v) * 3 // 4 for k, v in binary.items()
    )
    if size > _MAX_CONFIG_BYTES:
        causes.append(too_long("", _MAX_CONFIG_BYTES))
    return causes


def _immutable(obj: dict[str, Any], old: dict[str, Any], fields: tuple[str, ...]) -> list[Cause]:
    """The ``immutable: true`` rules shared by ConfigMaps and Secrets."""
    causes = []
    if obj.get("immutable") is not True:
        causes.append(forbidden("immutable", _IMMUTABLE_SET))
    for name in fields:
        if (obj.get(name) or {}) != (old.get(name) or {}):
            causes.append(forbidden(name, _IMMUTABLE_SET))
    return causes


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def validate_secret(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateSecret`` and ``ValidateSecretUpdate`` (pkg/apis/core/validation)."""
    data = obj.get("data") or {}
    causes: list[Cause] = []
    if old is not None:
        if obj.get("type") != old.get("type"):
            causes.append(invalid("type", obj.get("type", ""), "field is immutable"))
        if old.get("immutable") is True:
            causes.extend(_immutable(obj, old, ("data",)))
    causes += _config_keys(data, "data")
    secret_type = str(obj.get("type", ""))
    for key in _SECRET_REQUIRED_KEYS.get(secret_type, ()):
        if key not in data:
            causes.append(required(f"data[{key}]"))
    basic_auth = secret_type == "kubernetes.io/basic-auth"  # noqa: S105 - a type, not a secret
    if basic_auth and not ("username" in data or "password" in data):
        causes.append(required("data[username]"))
    if secret_type == "kubernetes.io/service-account-token":  # noqa: S105 - a type name
        annotations = obj["metadata"].get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if sum(len(v) * 3 // 4 for v in data.values()) > _MAX_CONFIG_BYTES:
        causes.append(too_long("data", _MAX_CONFIG_BYTES))
    return causes


# ----------------------------------------------------------------------- Lease, Event
def validate_lease(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateLeaseSpec`` (pkg/apis/coordination/validation)."""
    spec = obj.get("spec") or {}
    causes = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        causes.append(
            invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
        )
    return causes


def validate_event(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateEventCreate`` (pkg/apis/core/validation/events.go), on the core form.

    Every event passes the legacy rules; one created through events.k8s.io/v1 also the strict
    ones (eventTime, type, reporting fields; the deprecated fields unset).
    """
    strict = rt.group == "events.k8s.io"
    causes = _legacy_event(obj, strict=strict)
    if old is not None or not strict:
        return causes
    if not obj.get("eventTime"):
        causes.append(required("eventTime"))
    if obj.get("type") not in ("Normal", "Warning"):
        causes.append(invalid("type", "", f"has invalid value: {obj.get('type', '')}"))
    for name, field_name in (
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
    ):
        if obj.get(name):
            causes.append(invalid(field_name, "", "needs to be unset"))
    if obj.get("count"):
        causes.append(invalid("deprecatedCount", "", "needs to be unset"))
    # eventsconv fills ``source`` from the reporting fields for older readers; only a
    # deprecatedSource the client sent differs from that.
    source = obj.get("source") or {}
    derived = {"component": obj.get("reportingComponent"), "host": obj.get("reportingInstance")}
    if any(source.get(k) not in (None, "", derived[k]) for k in ("component", "host")):
        causes.append(invalid("deprecatedSource", "", "needs to be unset"))
    return causes


def _legacy_event(obj: dict[str, Any], *, strict: bool) -> list[Cause]:
    causes: list[Cause] = []
    ns = obj["metadata"].get("namespace", "")
    involved_ns = (obj.get("involvedObject") or {}).get("namespace", "")
    ref_field = "regarding.namespace" if strict else "involvedObject.namespace"
    if not obj.get("eventTime"):
        if (not involved_ns and ns not in ("", "default")) or (involved_ns and ns != involved_ns):
            causes.append(invalid(ref_field, involved_ns, "does not match event.namespace"))
        return causes
    if not involved_ns and ns not in ("default", "kube-system"):
        causes.append(invalid(ref_field, involved_ns, "does not match event.namespace"))
    controller_field = "reportingController" if strict else "reportingComponent"
    controller = obj.get("reportingComponent", "")
    if not controller:
        causes.append(required(controller_field))
    else:
        causes.extend(
            invalid(controller_field, controller, problem)
            for problem in names.qualified_name_problems(controller)
        )
    for name, limit in (("reportingInstance", 128), ("action", 128)):
        value = obj.get(name, "")
        if not value:
            causes.append(required(name))
        elif len(value) > limit:
            causes.append(invalid(name, "", f"can have at most {limit} characters"))
    return causes


# ------------------------------------------------------------------------------ RBAC
def _policy_rules(rules: list[Any], *, namespaced: bool) -> list[Cause]:
    """``ValidatePolicyRule`` for each rule (pkg/apis/rbac/validation)."""
    causes = []
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not rule.get("verbs"):
            causes.append(required(f"{path}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs") or []
        if urls:
            shown = "[]string{" + ", ".join(go_quote(u) for u in urls) + "}"
            if namespaced:
                causes.append(
                    _invalid_raw(
                        f"{path}.nonResourceURLs",
                        shown,
                        "namespaced rules cannot apply to non-resource URLs",
                    )
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.append(
                    _invalid_raw(
                        f"{path}.nonResourceURLs",
                        shown,
                        "rules cannot apply to both regular resources and non-resource URLs",
                    )
                )
            continue
        if not rule.get("apiGroups"):
            causes.append(
                required(f"{path}.apiGroups", "resource rules must supply at least one api group")
            )
        if not rule.get("resources"):
            causes.append(
                required(f"{path}.resources", "resource rules must supply at least one resource")
            )
    return causes


def _invalid_raw(path: str, shown: str, detail: str) -> Cause:
    """field.Invalid whose value Go prints with %#v (already rendered)."""
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


def validate_role(obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType) -> list[Cause]:
    """``ValidateRole`` / ``ValidateClusterRole``."""
    causes = _policy_rules(obj.get("rules") or [], namespaced=rt.namespaced)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None and not aggregation.get("clusterRoleSelectors"):
        causes.append(
            required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            )
        )
    return causes


def _role_ref_text(ref: dict[str, Any]) -> str:
    return (
        f"rbac.RoleRef{{APIGroup:{go_quote(ref.get('apiGroup', ''))}, "
        f"Kind:{go_quote(ref.get('kind', ''))}, Name:{go_quote(ref.get('name', ''))}}}"
    )


def validate_binding(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateRoleBinding`` / ``ValidateClusterRoleBinding`` and their updates."""
    ref = obj.get("roleRef") or {}
    causes = []
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    kinds = ["Role", "ClusterRole"] if rt.namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        causes.append(not_supported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        causes.append(required("roleRef.name"))
    else:
        problem = names.path_segment_problem(ref["name"])
        if problem:
            causes.append(invalid("roleRef.name", ref["name"], problem))
    for i, subject in enumerate(obj.get("subjects") or []):
        causes.extend(_subject(subject, f"subjects[{i}]", namespaced=rt.namespaced))
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.append(_invalid_raw("roleRef", _role_ref_text(ref), "cannot change roleRef"))
    return causes


def _subject(subject: dict[str, Any], path: str, *, namespaced: bool) -> list[Cause]:
    """``ValidateRoleBindingSubject``."""
    causes = []
    name, kind, group = (
        subject.get("name", ""),
        subject.get("kind", ""),
        subject.get("apiGroup", ""),
    )
    if not name:
        causes.append(required(f"{path}.name"))
    if kind == "ServiceAccount":
        if name:
            causes.extend(
                invalid(f"{path}.name", name, problem) for problem in names.subdomain_problems(name)
            )
        if group:
            causes.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != RBAC_GROUP:
            causes.append(not_supported(f"{path}.apiGroup", group, [RBAC_GROUP]))
    else:
        causes.append(not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return causes


# --------------------------------------------------------------------------- Service
def validate_service(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """The core of ``ValidateService`` / ``ValidateServiceUpdate``: ports, type, cluster IP."""
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    ports = spec.get("ports") or []
    if spec.get("type") != "ExternalName" and not ports and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        port_name = port.get("name", "")
        if len(ports) > 1 and not port_name:
            causes.append(required(f"{path}.name"))
        elif port_name:
            causes.extend(
                invalid(f"{path}.name", port_name, p)
                for p in names.dns1123_label_problems(port_name)
            )
            if port_name in seen:
                causes.append(
                    Cause("FieldValueDuplicate", f'Duplicate value: "{port_name}"', f"{path}.name")
                )
            seen.add(port_name)
        number = port.get("port", 0)
        if not 1 <= number <= 65535:
            causes.append(invalid(f"{path}.port", number, "must be between 1 and 65535, inclusive"))
        target = port.get("targetPort")
        if isinstance(target, int) and not 1 <= target <= 65535:
            causes.append(
                invalid(f"{path}.targetPort", target, "must be between 1 and 65535, inclusive")
            )
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP", "")
        if (
            old_ip
            and spec.get("clusterIP", "") != old_ip
            and old["spec"].get("type") != "ExternalName"
        ):
            causes.append(
                invalid("spec.clusterIPs[0]", spec.get("clusterIP", ""), "may not change once set")
            )
    return causes


_VALIDATORS: dict[str, Validator] = {
    "/configmaps": validate_configmap,
    "/secrets": validate_secret,
    "/events": validate_event,
    "events.k8s.io/events": validate_event,
    "coordination.k8s.io/leases": validate_lease,
    "/services": validate_service,
    f"{RBAC_GROUP}/roles": validate_role,
    f"{RBAC_GROUP}/clusterroles": validate_role,
    f"{RBAC_GROUP}/rolebindings": validate_binding,
    f"{RBAC_GROUP}/clusterrolebindings": validate_binding,
}
