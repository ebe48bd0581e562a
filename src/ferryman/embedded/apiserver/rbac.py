"""RBAC authorization evaluated the way Kubernetes' RBAC authorizer does.

Why: the embedded API server answers SubjectAccessReviews (Ferryman's approval API asks "may this
user ``approve`` this pipeline?") and guards its own endpoints, and users write ordinary
Role/ClusterRole/RoleBinding/ClusterRoleBinding objects for it. Evaluating them exactly like
kube-apiserver (``plugin/pkg/auth/authorizer/rbac`` and ``rbac/v1`` ``evaluation_helpers``) means a
policy tested against the embedded server means the same on a real cluster.

Rules kept from Kubernetes:

- ClusterRoleBindings apply everywhere; RoleBindings only in their namespace, also when they
  reference a ClusterRole; non-resource URLs are therefore only granted through
  ClusterRoleBindings (a non-resource request has no namespace);
- verbs, API groups and resources match exactly or by ``*``; a resource rule also matches
  ``<resource>/<subresource>`` exactly and ``*/<subresource>``; ``<resource>/*`` is NOT a wildcard
  (Kubernetes does not treat it as one either);
- a rule with ``resourceNames`` only matches requests that carry one of those names, so never a
  list, watch, or create (which have no name);
- non-resource URLs match exactly, by ``*``, or by a prefix ending in ``*``;
- subjects: User by name, Group by membership, ServiceAccount by the username
  ``system:serviceaccount:<ns>:<name>`` (namespace defaulting to the RoleBinding's);
- members of ``system:masters`` are allowed everything (kube-apiserver's privileged-group
  authorizer, which runs before RBAC);
- anything not allowed is denied.

Aggregated ClusterRoles: a real cluster runs a controller that writes the union of the selected
roles' rules into ``rules``. This server has no such controller; it computes the union at
evaluation time instead (``aggregate_cluster_roles``), so a new matching role takes effect at once.

The module is slightly over 400 lines on purpose: evaluation, aggregation and the API answers
(403 text, SubjectAccessReview status) share one set of matching rules and read as one unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

PRIVILEGED_GROUP = "system:masters"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated user, as the authenticator (token file, TokenReview) describes it."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do: kube-apiserver's ``authorizer.Attributes``."""

    user: UserInfo
    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


@dataclass(frozen=True)
class Decision:
    """The outcome; ``reason`` names the granting binding, or the errors met, like Kubernetes."""

    allowed: bool
    reason: str


class RBACStore(Protocol):
    """How the evaluator reads the stored RBAC objects (plain dicts, as the API serves them)."""

    def cluster_roles(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRole."""
        ...

    def cluster_role_bindings(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRoleBinding."""
        ...

    def roles(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The Roles of one namespace."""
        ...

    def role_bindings(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The RoleBindings of one namespace."""
        ...


class InvalidReviewError(ValueError):
    """A SubjectAccessReview spec the server must reject with 422 (message says why)."""


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The UserInfo Kubernetes gives a service account's token, with its two implicit groups."""
    return UserInfo(
        name=f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        groups=(
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            "system:authenticated",
        ),
    )


# --------------------------------------------------------------------------- evaluation


def user_rules(
    store: RBACStore, user: UserInfo, namespace: str
) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The rules granted to ``user`` in ``namespace``, and the errors met (rules reviews)."""
    errors: list[str] = []
    rules = [rule for _, found in _rules_for(store, user, namespace, errors) for rule in found]
    return rules, errors


def authorize(store: RBACStore, attributes: Attributes) -> Decision:
    """Allow when some binding that applies to the user grants a matching rule; else deny."""
    if PRIVILEGED_GROUP in attributes.user.groups:
        return Decision(allowed=True, reason="")
    errors: list[str] = []
    for source, rules in _rules_for(store, attributes.user, attributes.namespace, errors):
        if any(rule_allows(attributes, rule) for rule in rules):
            return Decision(allowed=True, reason=f"RBAC: allowed by {source}")
    if not errors:
        return Decision(allowed=False, reason="")
    joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return Decision(allowed=False, reason=f"RBAC: {joined}")


def rules_for(
    store: RBACStore, user: UserInfo, namespace: str, errors: list[str]
) -> list[Mapping[str, Any]]:
    """``RulesFor``: every rule bound to ``user`` by ClusterRoleBindings and, when ``namespace``
    is set, by that namespace's RoleBindings (errors resolving roles are appended to ``errors``).
    No group is privileged here: escalation checks decide about ``system:masters`` themselves."""
    return [rule for _, rules in _rules_for(store, user, namespace, errors) for rule in rules]


def _rules_for(
    store: RBACStore, user: UserInfo, namespace: str, errors: list[str]
) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    """Yield (description of the grant, its rules) for every binding that applies to ``user``."""
    cluster_roles = {_name(role): role for role in store.cluster_roles()}
    for binding in store.cluster_role_bindings():
        subject = _applying_subject(user, binding, "")
        if subject is None:
            continue
        rules = _referenced_rules(store, binding, "", cluster_roles, errors)
        if rules is not None:
            source = (
                f'ClusterRoleBinding "{_name(binding)}" of {_role_ref(binding)} '
                f"to {_describe_subject(subject, '')}"
            )
            yield source, rules
    if not namespace:
        return
    for binding in store.role_bindings(namespace):
        subject = _applying_subject(user, binding, namespace)
        if subject is None:
            continue
        rules = _referenced_rules(store, binding, namespace, cluster_roles, errors)
        if rules is not None:
            source = (
                f'RoleBinding "{_name(binding)}/{namespace}" of {_role_ref(binding)} '
                f"to {_describe_subject(subject, namespace)}"
            )
            yield source, rules


def _referenced_rules(
    store: RBACStore,
    binding: Mapping[str, Any],
    namespace: str,
    cluster_roles: Mapping[str, Mapping[str, Any]],
    errors: list[str],
) -> list[Mapping[str, Any]] | None:
    """The rules of the binding's roleRef, or None (with an error noted) when it is missing."""
    ref = binding.get("roleRef") or {}
    kind, name = ref.get("kind", ""), ref.get("name", "")
    if kind == "ClusterRole":
        role = cluster_roles.get(name)
        if role is None:
            errors.append(f'clusterrole.rbac.authorization.k8s.io "{name}" not found')
            return None
        if role.get("aggregationRule"):
            return list(aggregate_cluster_roles(cluster_roles.values()).get(name, []))
        return list(role.get("rules") or [])
    if kind == "Role" and namespace:
        for role in store.roles(namespace):
            if _name(role) == name:
                return list(role.get("rules") or [])
        errors.append(f'role.rbac.authorization.k8s.io "{name}" not found')
        return None
    errors.append(f'unsupported role reference kind: "{kind}"')
    return None


def _applying_subject(
    user: UserInfo, binding: Mapping[str, Any], namespace: str
) -> Mapping[str, Any] | None:
    """The first subject of the binding that names ``user``, if any."""
    for subject in binding.get("subjects") or []:
        if _applies_to(user, subject, namespace):
            return subject  # type: ignore[no-any-return]
    return None


def _applies_to(user: UserInfo, subject: Mapping[str, Any], namespace: str) -> bool:
    """Kubernetes' ``appliesToUser``: match by user name, group, or service-account username."""
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        if not sa_namespace:
            return False
        return user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}"
    return False


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def _role_ref(binding: Mapping[str, Any]) -> str:
    ref = binding.get("roleRef") or {}
    return f'{ref.get("kind", "")} "{ref.get("name", "")}"'


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


# --------------------------------------------------------------------------- rule matching


def rule_allows(attributes: Attributes, rule: Mapping[str, Any]) -> bool:
    """Kubernetes' ``RuleAllows``: does one PolicyRule grant the request?"""
    if not _verb_matches(rule, attributes.verb):
        return False
    if not attributes.resource_request:
        return _non_resource_url_matches(rule, attributes.path)
    combined = attributes.resource
    if attributes.subresource:
        combined = f"{attributes.resource}/{attributes.subresource}"
    return (
        _api_group_matches(rule, attributes.api_group)
        and _resource_matches(rule, combined, attributes.subresource)
        and _resource_name_matches(rule, attributes.name)
    )


def _verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    return any(item in ("*", verb) for item in rule.get("verbs") or [])


def _api_group_matches(rule: Mapping[str, Any], group: str) -> bool:
    return any(item in ("*", group) for item in rule.get("apiGroups") or [])


def _resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    for item in rule.get("resources") or []:
        if item in ("*", combined):
            return True
        if subresource and item == f"*/{subresource}":
            return True
    return False


def _resource_name_matches(rule: Mapping[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or []
    return not names or name in names


def _non_resource_url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


# --------------------------------------------------------------------------- aggregation


def aggregate_cluster_roles(
    cluster_roles: Iterable[Mapping[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Rules of every ClusterRole with an ``aggregationRule``: the union of the selected roles'.

    Like the clusterrole-aggregation controller: selected roles are taken in name order, the role
    itself is skipped, duplicate rules are dropped; a selected role that aggregates in turn
    contributes its own aggregated rules (cycles are cut).
    """
    roles = {_name(role): role for role in cluster_roles}
    result: dict[str, list[dict[str, Any]]] = {}
    for name, role in sorted(roles.items()):
        if role.get("aggregationRule"):
            result[name] = _aggregate(name, roles, frozenset())
    return result


def _aggregate(
    name: str, roles: Mapping[str, Mapping[str, Any]], visiting: frozenset[str]
) -> list[dict[str, Any]]:
    selectors = (roles[name].get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    rules: list[dict[str, Any]] = []
    for other_name, other in sorted(roles.items()):
        if other_name == name or other_name in visiting:
            continue
        labels = (other.get("metadata") or {}).get("labels") or {}
        if not any(selector_matches(selector, labels) for selector in selectors):
            continue
        if other.get("aggregationRule"):
            contributed = _aggregate(other_name, roles, visiting | {name})
        else:
            contributed = [dict(rule) for rule in other.get("rules") or []]
        for rule in contributed:
            if rule not in rules:
                rules.append(rule)
    return rules


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions); an empty selector matches all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = expression.get("values") or []
        if operator == "In" and not (key in labels and labels[key] in values):
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


# --------------------------------------------------------------------------- API answers


def forbidden_message(attributes: Attributes, reason: str = "") -> str:
    """The exact message of kube-apiserver's 403 Status for a denied request."""
    user = attributes.user.name
    if not attributes.resource_request:
        text = f'User "{user}" cannot {attributes.verb} path "{attributes.path}"'
        return f"forbidden: {text}" + (f": {reason}" if reason else "")
    resource = attributes.resource
    if attributes.subresource:
        resource = f"{resource}/{attributes.subresource}"
    text = (
        f'User "{user}" cannot {attributes.verb} resource "{resource}" '
        f'in API group "{attributes.api_group}"'
    )
    if attributes.namespace:
        text += f' in the namespace "{attributes.namespace}"'
    else:
        text += " at the cluster scope"
    if reason:
        text += f": {reason}"
    qualified = attributes.resource
    if attributes.api_group:
        qualified = f"{attributes.resource}.{attributes.api_group}"
    if attributes.name:
        return f'{qualified} "{attributes.name}" is forbidden: {text}'
    return f"{qualified} is forbidden: {text}"


def subject_access_review_status(
    store: RBACStore, spec: Mapping[str, Any], *, user: UserInfo | None = None
) -> dict[str, Any]:
    """The ``status`` of a SubjectAccessReview (or Local/Self one) for its ``spec``.

    For a SelfSubjectAccessReview pass the requester as ``user``; otherwise the spec's ``user``,
    ``groups``, ``extra`` and ``uid`` describe whom to check.
    """
    resource: Mapping[str, Any] = spec.get("resourceAttributes") or {}
    non_resource: Mapping[str, Any] = spec.get("nonResourceAttributes") or {}
    if bool(resource) == bool(non_resource):
        raise InvalidReviewError(
            "exactly one of spec.resourceAttributes and spec.nonResourceAttributes must be set"
        )
    if user is None:
        if not spec.get("user") and not spec.get("groups"):
            raise InvalidReviewError("at least one of spec.user and spec.groups must be set")
        user = UserInfo(
            name=str(spec.get("user") or ""),
            uid=str(spec.get("uid") or ""),
            groups=tuple(spec.get("groups") or ()),
            extra={key: tuple(value) for key, value in (spec.get("extra") or {}).items()},
        )
    if resource:
        attributes = Attributes(
            user=user,
            verb=str(resource.get("verb", "")),
            namespace=str(resource.get("namespace", "")),
            api_group=str(resource.get("group", "")),
            resource=str(resource.get("resource", "")),
            subresource=str(resource.get("subresource", "")),
            name=str(resource.get("name", "")),
        )
    else:
        attributes = Attributes(
            user=user,
            verb=str(non_resource.get("verb", "")),
            path=str(non_resource.get("path", "")),
            resource_request=False,
        )
    decision = authorize(store, attributes)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status
