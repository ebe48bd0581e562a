"""RBAC escalation prevention, as kube-apiserver enforces it on the four RBAC resources.

Why: RBAC is only a boundary if granting is bounded by holding. Without these rules a user with
``admin`` in one namespace binds ``cluster-admin`` there, or writes a Role granting herself
``approve`` on pipelines; ``config/rbac/approver_role.yaml`` (aggregated into ``admin`` so admins
may delegate approval) relies on them. Re-implemented from Kubernetes (Apache-2.0), read at:

- ``pkg/registry/rbac/escalation_check.go``: ``EscalationAllowed`` (members of
  ``system:masters``), ``RoleEscalationAuthorized`` (the ``escalate`` verb on ``roles`` /
  ``clusterroles``), ``BindingAuthorized`` (the ``bind`` verb on the referenced role, checked in the
  binding's namespace);
- ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go``:
  create and update of a role only with rules the user holds (``ConfirmNoEscalation``), a
  ClusterRole's ``aggregationRule`` only with full authority, a binding only to a role whose
  rules the user holds or may ``bind``; updates touching only ownerReferences and finalizers
  (``IsOnlyMutatingGCFields``, ``pkg/registry/rbac/helpers.go``) pass;
- ``pkg/registry/rbac/validation/rule.go`` (``ConfirmNoEscalation``, its message) and
  ``policy_compact.go`` (``CompactRules``), ``pkg/apis/rbac/v1/evaluation_helpers.go``
  (``CompactString``), and ``k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go``
  (``Covers``, ``BreakdownRule``, ``ruleCovers``).

``Guard.check`` is called by ``objects.ObjectApi`` before any RBAC object is written (also on dry
runs), with the requesting user carried in ``WriteOptions.requester``; writes the server makes
itself (bootstrap policy, aggregation) carry none and are not checked. The user's own rules come
from the stored RBAC objects (``rbac.rules_for``), the ``escalate``/``bind`` decisions from the
server's authorizer hook, as in Kubernetes (rule resolver vs. authorizer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ferryman.embedded.apiserver import auth, errors, rbac

Rule = Mapping[str, Any]
FIELDS = ("apiGroups", "resources", "nonResourceURLs", "resourceNames", "verbs")
# What may set an aggregationRule: everything, as ``fullAuthority`` in clusterrole/policybased.
FULL_AUTHORITY: tuple[Rule, ...] = (
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
)
ROLE_RESOURCES = frozenset(("roles", "clusterroles"))
BINDING_RESOURCES = frozenset(("rolebindings", "clusterrolebindings"))
CHECKED_RESOURCES = ROLE_RESOURCES | BINDING_RESOURCES
# Metadata that only garbage collection changes; a write changing nothing else is not checked.
_GC_FIELDS = ("ownerReferences", "finalizers", "selfLink", "managedFields", "resourceVersion")


# --------------------------------------------------------------------------- rule coverage


def _strings(rule: Rule, key: str) -> list[str]:
    return [str(item) for item in rule.get(key) or []]


def breakdown(rule: Rule) -> list[dict[str, list[str]]]:
    """``BreakdownRule``: one rule per (group, resource, verb[, name]) and per (URL, verb)."""
    found: list[dict[str, list[str]]] = []
    names = _strings(rule, "resourceNames")
    for group in _strings(rule, "apiGroups"):
        for resource in _strings(rule, "resources"):
            for verb in _strings(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    found.extend({**base, "resourceNames": [name]} for name in names)
                else:
                    found.append(base)
    for url in _strings(rule, "nonResourceURLs"):
        for verb in _strings(rule, "verbs"):
            found.append({"nonResourceURLs": [url], "verbs": [verb]})
    return found


def _has_all(owned: list[str], wanted: list[str]) -> bool:
    return set(wanted) <= set(owned)


def _resources_cover(owned: list[str], wanted: list[str]) -> bool:
    """``resourceCoversAll``: ``*``, exact names, or ``*/<subresource>`` for a subresource."""
    if "*" in owned or _has_all(owned, wanted):
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owned:
            return False
    return True


def url_covers(owner: str, path: str) -> bool:
    """``nonResourceURLCovers``: equal, or ``owner`` ends in ``*`` and is a prefix of ``path``."""
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))


def rule_covers(owner: Rule, sub: Rule) -> bool:
    """``ruleCovers``: does ``owner`` grant everything the broken-down ``sub`` grants?"""
    owned_verbs, owned_groups = _strings(owner, "verbs"), _strings(owner, "apiGroups")
    owned_names, sub_names = _strings(owner, "resourceNames"), _strings(sub, "resourceNames")
    verbs = "*" in owned_verbs or _has_all(owned_verbs, _strings(sub, "verbs"))
    groups = "*" in owned_groups or _has_all(owned_groups, _strings(sub, "apiGroups"))
    resources = _resources_cover(_strings(owner, "resources"), _strings(sub, "resources"))
    urls = all(
        any(url_covers(mine, path) for mine in _strings(owner, "nonResourceURLs"))
        for path in _strings(sub, "nonResourceURLs")
    )
    names = (
        not owned_names if not sub_names else not owned_names or _has_all(owned_names, sub_names)
    )
    return verbs and groups and resources and names and urls


def covers(owner_rules: Sequence[Rule], servant_rules: Sequence[Rule]) -> tuple[bool, list[Rule]]:
    """``Covers``: whether ``owner_rules`` grant all of ``servant_rules``, and what they miss."""
    missing: list[Rule] = [
        sub
        for servant in servant_rules
        for sub in breakdown(servant)
        if not any(rule_covers(owner, sub) for owner in owner_rules)
    ]
    return not missing, missing


# --------------------------------------------------------------------------- the message


def compact(rules: Sequence[Rule]) -> list[Rule]:
    """``CompactRules``: merge rules of one group, one resource and at most one name that differ
    only in their verbs (they come out of ``covers`` that way); keep every other rule as it is."""
    simple: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    compacted: list[Rule] = []
    for rule in rules:
        groups, resources = _strings(rule, "apiGroups"), _strings(rule, "resources")
        names = _strings(rule, "resourceNames")
        extra = set(rule) - {"apiGroups", "resources", "verbs", "resourceNames"}
        if len(groups) != 1 or len(resources) != 1 or len(names) > 1 or any(rule[k] for k in extra):
            compacted.append(rule)
            continue
        key = (groups[0], resources[0], tuple(names))
        if key in simple:
            simple[key]["verbs"] = [*simple[key]["verbs"], *_strings(rule, "verbs")]
        else:
            simple[key] = {k: list(v) for k, v in rule.items() if k in FIELDS and v is not None}
            simple[key].setdefault("verbs", [])
    return [*compacted, *simple.values()]


def go_quoted(values: Iterable[str]) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"


def compact_string(rule: Rule) -> str:
    """``CompactString``: ``{APIGroups:["g"], Resources:["r"], Verbs:["get"]}``."""
    labels = {
        "apiGroups": "APIGroups",
        "resources": "Resources",
        "nonResourceURLs": "NonResourceURLs",
        "resourceNames": "ResourceNames",
        "verbs": "Verbs",
    }
    parts = [
        f"{label}:{go_quoted(_strings(rule, key))}"
        for key, label in labels.items()
        if _strings(rule, key)
    ]
    return "{" + ", ".join(parts) + "}"


def confirm_no_escalation(
    store: rbac.RBACStore, user: rbac.UserInfo, namespace: str, rules: Sequence[Rule]
) -> str:
    """``ConfirmNoEscalation``: "" when ``user`` holds ``rules`` in ``namespace``, else why not."""
    resolution_errors: list[str] = []
    owned = rbac.rules_for(store, user, namespace, resolution_errors)
    held, missing = covers(owned, rules)
    if held:
        return ""
    described = sorted({compact_string(rule) for rule in compact(missing)})
    message = (
        f"user {json.dumps(user.name)} (groups={go_quoted(user.groups)}) is attempting to grant "
        "RBAC permissions not currently held:\n" + "\n".join(described)
    )
    if resolution_errors:
        message += f"; resolution errors: [{', '.join(resolution_errors)}]"
    return message


# --------------------------------------------------------------------------- the guard

Authorize = Callable[[auth.Attributes], tuple[bool, str]]


def only_gc_fields_change(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """``IsOnlyMutatingGCFields``: equal once ownerReferences and finalizers are set aside."""

    def without(obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _GC_FIELDS}
        return {**obj, "metadata": meta}

    return without(new) == without(old)


class Guard:
    """The escalation checks of one server: its stored RBAC and its authorizer hook."""

    def __init__(self, store: rbac.RBACStore, authorize: Authorize) -> None:
        self.store = store
        self.authorize = authorize

    def _allowed(
        self, user: auth.User, verb: str, resource: str, namespace: str, name: str
    ) -> bool:
        attributes = auth.Attributes(
            user=user,
            verb=verb,
            path="",
            is_resource_request=True,
            api_group=rbac.RBAC_GROUP,
            api_version="*",
            resource=resource,
            namespace=namespace,
            name=name,
        )
        return self.authorize(attributes)[0]

    def check(
        self,
        resource: str,
        obj: Mapping[str, Any],
        old: Mapping[str, Any] | None,
        *,
        requester: auth.User,
        namespace: str,
        request_name: str,
    ) -> None:
        """Raise 403 (404 for a missing role) unless ``requester`` may write ``obj``."""
        if rbac.PRIVILEGED_GROUP in requester.groups:  # EscalationAllowed
            return
        if old is not None and only_gc_fields_change(obj, old):
            return
        name = str((obj.get("metadata") or {}).get("name", ""))
        if resource in ROLE_RESOURCES:
            if self._allowed(requester, "escalate", resource, namespace, request_name):
                return
            self._confirm(requester, namespace, list(obj.get("rules") or []), resource, name)
            if resource == "clusterroles" and _aggregates(obj, old):
                self._confirm(
                    requester,
                    namespace,
                    FULL_AUTHORITY,
                    resource,
                    name,
                    reason="must have cluster-admin privileges to use the aggregationRule",
                )
        elif resource in BINDING_RESOURCES:
            ref: Mapping[str, Any] = obj.get("roleRef") or {}
            kind = ref.get("kind")
            if kind in ("Role", "ClusterRole"):
                role_resource = "roles" if kind == "Role" else "clusterroles"
                if self._allowed(requester, "bind", role_resource, namespace, ref.get("name", "")):
                    return
            rules = self._role_rules(ref, namespace)
            self._confirm(requester, namespace, rules, resource, name)

    def _role_rules(self, ref: Mapping[str, Any], namespace: str) -> list[Rule]:
        """``GetRoleReferenceRules``: the referenced role's rules (404 when it does not exist)."""
        kind, name = ref.get("kind", ""), str(ref.get("name", ""))
        if kind == "ClusterRole":
            roles = self.store.cluster_roles()
        elif kind == "Role" and namespace:
            roles = self.store.roles(namespace)
        else:
            raise errors.bad_request(f'unsupported role reference kind: "{kind}"')
        for role in roles:
            if (role.get("metadata") or {}).get("name") == name:
                return list(role.get("rules") or [])
        raise errors.not_found(kind.lower() + "s", rbac.RBAC_GROUP, name)

    def _confirm(
        self,
        requester: auth.User,
        namespace: str,
        rules: Sequence[Rule],
        resource: str,
        name: str,
        *,
        reason: str = "",
    ) -> None:
        problem = confirm_no_escalation(self.store, requester.to_rbac(), namespace, rules)
        if problem:
            qualified = f"{resource}.{rbac.RBAC_GROUP}"
            raise errors.forbidden(
                f'{qualified} "{name}" is forbidden: {reason or problem}',
                name=name,
                group=rbac.RBAC_GROUP,
                kind=resource,
            )


def _aggregates(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """``hasAggregationRule`` of the new role, or of the old one on update."""

    def has(role: Mapping[str, Any] | None) -> bool:
        return bool(role and ((role.get("aggregationRule") or {}).get("clusterRoleSelectors")))

    return has(obj) or has(old)
