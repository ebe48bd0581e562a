"""RBAC decisions match Kubernetes' RBAC authorizer, case by named case."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from ferryman.embedded.apiserver import rbac
from ferryman.embedded.apiserver.rbac import Attributes, UserInfo


def _rule(
    groups: list[str], resources: list[str], verbs: list[str], **extra: Any
) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


def _role(name: str, rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    metadata = {"name": name, **extra.pop("metadata", {})}
    return {"metadata": metadata, "rules": rules, **extra}


def _binding(name: str, kind: str, role: str, *subjects: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": list(subjects),
    }


def user(name: str) -> dict[str, str]:
    """A User subject."""
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def group(name: str) -> dict[str, str]:
    """A Group subject."""
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def service_account(name: str, namespace: str = "") -> dict[str, str]:
    """A ServiceAccount subject (namespace may be left to the binding)."""
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


CLUSTER_ROLES = [
    _role("pod-reader", [_rule([""], ["pods"], ["get", "list", "watch"])]),
    _role("star-verbs", [_rule(["apps"], ["deployments"], ["*"])]),
    _role("all-groups", [_rule(["*"], ["configmaps"], ["get"])]),
    _role("all-resources", [_rule([""], ["*"], ["delete"])]),
    _role("status-writer", [_rule([""], ["pods/status"], ["patch"])]),
    _role("any-status", [_rule(["*"], ["*/status"], ["update"])]),
    _role("pods-slash-star", [_rule([""], ["pods/*"], ["get"])]),
    _role("secret-reader", [_rule([""], ["secrets"], ["get"])]),
    _role(
        "web-approver",
        [
            _rule(
                ["pipelines.weave.works"],
                ["pipelines"],
                ["approve", "create", "list"],
                resourceNames=["web"],
            )
        ],
    ),
    _role("health", [{"nonResourceURLs": ["/healthz", "/logs/*"], "verbs": ["get"]}]),
    _role(
        "aggregate-view",
        [_rule([""], ["stale"], ["get"])],
        aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"agg": "view"}}]},
    ),
    _role("agg-part-a", [_rule([""], ["services"], ["get"])], metadata={"labels": {"agg": "view"}}),
    _role(
        "agg-part-b",
        [_rule([""], ["endpoints"], ["list"]), _rule([""], ["services"], ["get"])],
        metadata={"labels": {"agg": "view", "extra": "x"}},
    ),
    _role("agg-other", [_rule([""], ["nodes"], ["get"])], metadata={"labels": {"agg": "edit"}}),
]

CLUSTER_ROLE_BINDINGS = [
    _binding("alice-pods", "ClusterRole", "pod-reader", user("alice")),
    _binding("devs-deploy", "ClusterRole", "star-verbs", group("devs")),
    _binding("carol", "ClusterRole", "all-groups", user("carol")),
    _binding("dave", "ClusterRole", "all-resources", user("dave")),
    _binding("erin", "ClusterRole", "any-status", user("erin")),
    _binding("frank", "ClusterRole", "pods-slash-star", user("frank")),
    _binding("gina", "ClusterRole", "web-approver", user("gina")),
    _binding("health-all", "ClusterRole", "health", group("system:authenticated")),
    _binding("agg-bind", "ClusterRole", "aggregate-view", user("agg-user")),
    _binding("sa-status", "ClusterRole", "status-writer", service_account("robot", "ops")),
    _binding("broken", "ClusterRole", "gone", user("broken")),
]

ROLES = {"apps": [_role("cm-editor", [_rule([""], ["configmaps"], ["update", "patch"])])]}

ROLE_BINDINGS = {
    "apps": [
        _binding("bob-secrets", "ClusterRole", "secret-reader", user("bob")),
        _binding("local-role", "Role", "cm-editor", group("editors")),
        _binding("sa-local", "Role", "cm-editor", service_account("builder")),
        _binding("missing-role", "Role", "nope", user("ghost")),
        _binding("hank-health", "ClusterRole", "health", user("hank")),
    ]
}


class MemoryStore:
    """An in-memory RBACStore holding the fixture objects."""

    def __init__(
        self,
        cluster_roles: list[dict[str, Any]],
        cluster_role_bindings: list[dict[str, Any]],
        roles: dict[str, list[dict[str, Any]]],
        role_bindings: dict[str, list[dict[str, Any]]],
    ) -> None:
        self._cluster_roles = cluster_roles
        self._cluster_role_bindings = cluster_role_bindings
        self._roles = roles
        self._role_bindings = role_bindings

    def cluster_roles(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRole."""
        return self._cluster_roles

    def cluster_role_bindings(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRoleBinding."""
        return self._cluster_role_bindings

    def roles(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """Roles of a namespace."""
        return self._roles.get(namespace, [])

    def role_bindings(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """RoleBindings of a namespace."""
        return self._role_bindings.get(namespace, [])


STORE = MemoryStore(CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS)


def req(
    who: str, verb: str, resource: str = "", /, *, groups: tuple[str, ...] = (), **fields: Any
) -> Attributes:
    """A resource request (``resource`` may be ``res/sub``) by user ``who``."""
    resource_name, _, subresource = resource.partition("/")
    return Attributes(
        user=UserInfo(name=who, groups=groups),
        verb=verb,
        resource=resource_name,
        subresource=subresource,
        **fields,
    )


def url(name: str, verb: str, path: str, *, groups: tuple[str, ...] = ()) -> Attributes:
    """A non-resource request."""
    return Attributes(
        user=UserInfo(name=name, groups=groups), verb=verb, path=path, resource_request=False
    )


SA_ROBOT = "system:serviceaccount:ops:robot"
AUTHENTICATED = ("system:authenticated",)

CASES: list[tuple[str, Attributes, bool, str | None]] = [
    (
        "ClusterRoleBinding to a user allows a listed verb",
        req("alice", "get", "pods", namespace="default"),
        True,
        'RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" '
        'to User "alice"',
    ),
    (
        "verb not in the rule is denied",
        req("alice", "delete", "pods", namespace="default"),
        False,
        "",
    ),
    (
        "resource not in the rule is denied",
        req("alice", "get", "secrets", namespace="x"),
        False,
        "",
    ),
    (
        "API group not in the rule is denied",
        req("alice", "get", "pods", namespace="x", api_group="apps"),
        False,
        "",
    ),
    (
        "wildcard verbs allow a custom verb through a group",
        req("zed", "rollback", "deployments", groups=("devs",), api_group="apps", namespace="a"),
        True,
        'RBAC: allowed by ClusterRoleBinding "devs-deploy" of ClusterRole "star-verbs" '
        'to Group "devs"',
    ),
    (
        "a user named like a group is not a member",
        req("devs", "get", "deployments", api_group="apps", namespace="a"),
        False,
        "",
    ),
    (
        "wildcard apiGroups match any group",
        req("carol", "get", "configmaps", api_group="example.com", namespace="a"),
        True,
        'RBAC: allowed by ClusterRoleBinding "carol" of ClusterRole "all-groups" to User "carol"',
    ),
    (
        "wildcard resources match any resource",
        req("dave", "delete", "secrets", namespace="a"),
        True,
        None,
    ),
    (
        "wildcard resources match subresources too",
        req("dave", "delete", "pods/eviction"),
        True,
        None,
    ),
    (
        "exact subresource rule allows it",
        req(SA_ROBOT, "patch", "pods/status", namespace="a"),
        True,
        None,
    ),
    (
        "subresource rule does not grant the resource",
        req(SA_ROBOT, "patch", "pods", namespace="a"),
        False,
        "",
    ),
    (
        "resource rule does not grant a subresource",
        req("alice", "get", "pods/log", namespace="a"),
        False,
        "",
    ),
    (
        "*/status matches every status subresource",
        req("erin", "update", "deployments/status", api_group="apps"),
        True,
        None,
    ),
    (
        "*/status does not match the resource itself",
        req("erin", "update", "deployments", api_group="apps"),
        False,
        "",
    ),
    (
        "pods/* is not a wildcard (as in Kubernetes)",
        req("frank", "get", "pods/log", namespace="a"),
        False,
        "",
    ),
    (
        "resourceNames allow the named object",
        req(
            "gina",
            "approve",
            "pipelines",
            api_group="pipelines.weave.works",
            namespace="a",
            name="web",
        ),
        True,
        'RBAC: allowed by ClusterRoleBinding "gina" of ClusterRole "web-approver" to User "gina"',
    ),
    (
        "resourceNames deny another object",
        req(
            "gina",
            "approve",
            "pipelines",
            api_group="pipelines.weave.works",
            namespace="a",
            name="api",
        ),
        False,
        "",
    ),
    (
        "resourceNames never allow list (no name)",
        req("gina", "list", "pipelines", api_group="pipelines.weave.works", namespace="a"),
        False,
        "",
    ),
    (
        "resourceNames never allow create (no name)",
        req("gina", "create", "pipelines", api_group="pipelines.weave.works", namespace="a"),
        False,
        "",
    ),
    (
        "non-resource URL matches exactly",
        url("anyone", "get", "/healthz", groups=AUTHENTICATED),
        True,
        None,
    ),
    (
        "non-resource URL prefix with *",
        url("anyone", "get", "/logs/kube/x", groups=AUTHENTICATED),
        True,
        None,
    ),
    (
        "non-resource URL prefix needs the slash",
        url("anyone", "get", "/logs", groups=AUTHENTICATED),
        False,
        "",
    ),
    (
        "non-resource verb must match",
        url("anyone", "post", "/healthz", groups=AUTHENTICATED),
        False,
        "",
    ),
    (
        "non-resource URL not listed is denied",
        url("anyone", "get", "/metrics", groups=AUTHENTICATED),
        False,
        "",
    ),
    (
        "non-resource URLs are not granted by RoleBindings",
        url("hank", "get", "/healthz"),
        False,
        "",
    ),
    (
        "RoleBinding to a ClusterRole applies in its namespace",
        req("bob", "get", "secrets", namespace="apps"),
        True,
        'RBAC: allowed by RoleBinding "bob-secrets/apps" of ClusterRole "secret-reader" '
        'to User "bob"',
    ),
    (
        "RoleBinding to a ClusterRole does not apply elsewhere",
        req("bob", "get", "secrets", namespace="prod"),
        False,
        "",
    ),
    ("RoleBinding does not grant cluster-wide requests", req("bob", "get", "secrets"), False, ""),
    (
        "RoleBinding to a Role through a group",
        req("ivy", "patch", "configmaps", namespace="apps", groups=("editors",)),
        True,
        'RBAC: allowed by RoleBinding "local-role/apps" of Role "cm-editor" to Group "editors"',
    ),
    (
        "service account subject with a namespace",
        req(SA_ROBOT, "patch", "pods/status", namespace="x"),
        True,
        'RBAC: allowed by ClusterRoleBinding "sa-status" of ClusterRole "status-writer" '
        'to ServiceAccount "robot/ops"',
    ),
    (
        "service account subject defaults to the binding's namespace",
        req("system:serviceaccount:apps:builder", "update", "configmaps", namespace="apps"),
        True,
        'RBAC: allowed by RoleBinding "sa-local/apps" of Role "cm-editor" '
        'to ServiceAccount "builder/apps"',
    ),
    (
        "same service account name in another namespace is denied",
        req("system:serviceaccount:other:builder", "update", "configmaps", namespace="apps"),
        False,
        "",
    ),
    (
        "aggregated ClusterRole grants a selected role's rule",
        req("agg-user", "get", "services", namespace="a"),
        True,
        'RBAC: allowed by ClusterRoleBinding "agg-bind" of ClusterRole "aggregate-view" '
        'to User "agg-user"',
    ),
    (
        "aggregated ClusterRole grants another selected role's rule",
        req("agg-user", "list", "endpoints"),
        True,
        None,
    ),
    ("aggregated ClusterRole ignores unselected roles", req("agg-user", "get", "nodes"), False, ""),
    (
        "aggregated ClusterRole ignores its own stored rules",
        req("agg-user", "get", "stale"),
        False,
        "",
    ),
    (
        "system:masters is allowed everything",
        req("root", "escalate", "clusterroles", groups=("system:masters",)),
        True,
        "",
    ),
    (
        "unknown user is denied by default",
        req("mallory", "get", "pods", namespace="apps"),
        False,
        "",
    ),
    (
        "binding to a missing ClusterRole denies with the error as reason",
        req("broken", "get", "pods"),
        False,
        'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    ),
    (
        "binding to a missing Role denies with the error as reason",
        req("ghost", "get", "pods", namespace="apps"),
        False,
        'RBAC: role.rbac.authorization.k8s.io "nope" not found',
    ),
]


@pytest.mark.parametrize(
    ("attributes", "allowed", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_authorize_table(attributes: Attributes, allowed: bool, reason: str | None) -> None:
    """Each named scenario gives Kubernetes' decision (and reason, where the case states one)."""
    decision = rbac.authorize(STORE, attributes)
    assert decision.allowed is allowed
    if reason is not None:
        assert decision.reason == reason


def test_two_missing_roles_are_aggregated_in_the_reason() -> None:
    """Several errors are listed like Kubernetes' aggregate error."""
    bindings = [
        _binding("a", "ClusterRole", "gone-1", user("u")),
        _binding("b", "ClusterRole", "gone-2", user("u")),
    ]
    store = MemoryStore([], bindings, {}, {})
    decision = rbac.authorize(store, req("u", "get", "pods"))
    assert decision == rbac.Decision(
        allowed=False,
        reason='RBAC: [clusterrole.rbac.authorization.k8s.io "gone-1" not found, '
        'clusterrole.rbac.authorization.k8s.io "gone-2" not found]',
    )


def test_service_account_user_carries_the_implicit_groups() -> None:
    """A binding to group system:serviceaccounts:<ns> applies to that namespace's accounts."""
    bindings = [
        _binding("all-sa", "ClusterRole", "pod-reader", group("system:serviceaccounts:ops"))
    ]
    store = MemoryStore(CLUSTER_ROLES, bindings, {}, {})
    robot = rbac.service_account_user("ops", "robot")
    assert robot.name == SA_ROBOT
    assert rbac.authorize(store, Attributes(user=robot, verb="get", resource="pods")).allowed
    other = rbac.service_account_user("dev", "robot")
    assert not rbac.authorize(store, Attributes(user=other, verb="get", resource="pods")).allowed


def test_aggregation_unions_dedupes_and_orders_by_role_name() -> None:
    """aggregate_cluster_roles: selected roles in name order, duplicate rules once."""
    aggregated = rbac.aggregate_cluster_roles(CLUSTER_ROLES)
    assert aggregated == {
        "aggregate-view": [
            _rule([""], ["services"], ["get"]),
            _rule([""], ["endpoints"], ["list"]),
        ]
    }


def test_nested_aggregation_and_cycles() -> None:
    """An aggregating role selected by another contributes its aggregated rules; cycles end."""
    roles = [
        _role(
            "outer",
            [],
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"level": "inner"}}]},
            metadata={"labels": {"level": "inner"}},
        ),
        _role(
            "inner",
            [],
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"level": "leaf"}}]},
            metadata={"labels": {"level": "inner"}},
        ),
        _role("leaf", [_rule([""], ["pods"], ["get"])], metadata={"labels": {"level": "leaf"}}),
    ]
    aggregated = rbac.aggregate_cluster_roles(roles)
    assert aggregated["outer"] == [_rule([""], ["pods"], ["get"])]
    assert aggregated["inner"] == [_rule([""], ["pods"], ["get"])]


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({}, {"a": "1"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]},
            {"a": "2"},
            True,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "1"}, False),
    ],
    ids=[
        "empty selector matches all",
        "matchLabels subset",
        "matchLabels differ",
        "In",
        "In without the key",
        "NotIn without the key",
        "NotIn with the value",
        "Exists",
        "Exists without the key",
        "DoesNotExist",
        "DoesNotExist with the key",
        "unknown operator matches nothing",
    ],
)
def test_label_selectors(selector: dict[str, Any], labels: dict[str, str], matches: bool) -> None:
    """ClusterRole selectors follow metav1.LabelSelector semantics."""
    assert rbac.selector_matches(selector, labels) is matches


@pytest.mark.parametrize(
    ("attributes", "reason", "message"),
    [
        (
            req("bob", "get", "secrets", namespace="default", name="x"),
            "",
            'secrets "x" is forbidden: User "bob" cannot get resource "secrets" in API group "" '
            'in the namespace "default"',
        ),
        (
            req("bob", "list", "pipelines", namespace="a", api_group="pipelines.weave.works"),
            "",
            'pipelines.pipelines.weave.works is forbidden: User "bob" cannot list resource '
            '"pipelines" in API group "pipelines.weave.works" in the namespace "a"',
        ),
        (
            req("bob", "list", "namespaces"),
            "",
            'namespaces is forbidden: User "bob" cannot list resource "namespaces" in API group "" '
            "at the cluster scope",
        ),
        (
            req("bob", "patch", "pods/status", namespace="a", name="p"),
            'RBAC: role.rbac.authorization.k8s.io "r" not found',
            'pods "p" is forbidden: User "bob" cannot patch resource "pods/status" in API group "" '
            'in the namespace "a": RBAC: role.rbac.authorization.k8s.io "r" not found',
        ),
        (
            url("bob", "get", "/metrics"),
            "",
            'forbidden: User "bob" cannot get path "/metrics"',
        ),
    ],
    ids=[
        "named namespaced object",
        "collection in an API group",
        "cluster scope",
        "subresource with a reason",
        "non-resource path",
    ],
)
def test_forbidden_message(attributes: Attributes, reason: str, message: str) -> None:
    """403 messages are kube-apiserver's, word for word."""
    assert rbac.forbidden_message(attributes, reason) == message


def test_subject_access_review_for_another_user() -> None:
    """A SubjectAccessReview checks the spec's user and groups."""
    spec = {
        "resourceAttributes": {
            "namespace": "a",
            "verb": "approve",
            "group": "pipelines.weave.works",
            "resource": "pipelines",
            "name": "web",
        },
        "user": "gina",
        "groups": ["system:authenticated"],
        "extra": {"scopes": ["x"]},
        "uid": "1",
    }
    assert rbac.subject_access_review_status(STORE, spec) == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "gina" of ClusterRole "web-approver" '
        'to User "gina"',
    }
    spec["user"] = "bob"
    assert rbac.subject_access_review_status(STORE, spec) == {"allowed": False}


def test_self_subject_access_review_uses_the_requester() -> None:
    """For a SelfSubjectAccessReview the caller passes the authenticated user."""
    spec = {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}
    caller = UserInfo(name="x", groups=AUTHENTICATED)
    status = rbac.subject_access_review_status(STORE, spec, user=caller)
    assert status["allowed"] is True


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"user": "a"}, "exactly one of"),
        (
            {
                "user": "a",
                "resourceAttributes": {"verb": "get"},
                "nonResourceAttributes": {"path": "/", "verb": "get"},
            },
            "exactly one of",
        ),
        ({"resourceAttributes": {"verb": "get"}}, "spec.user and spec.groups"),
    ],
    ids=["neither attributes", "both attributes", "no user or groups"],
)
def test_invalid_review_specs(spec: dict[str, Any], message: str) -> None:
    """Specs kube-apiserver rejects with 422 raise InvalidReviewError."""
    with pytest.raises(rbac.InvalidReviewError, match=message):
        rbac.subject_access_review_status(STORE, spec)
