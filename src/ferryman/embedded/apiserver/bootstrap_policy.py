"""The RBAC objects every Kubernetes cluster starts with, created when missing on each start.

Why: with RBAC enforced, a user from the token file must be able to run discovery, read
``/version`` and ask ``kubectl auth can-i`` before any policy is written — a real cluster grants
that through its bootstrap ClusterRoles (``system:discovery``, ``system:basic-user``,
``system:public-info-viewer``) bound to ``system:authenticated``. ``cluster-admin`` (bound to
``system:masters``) and the user-facing ``admin``/``edit``/``view`` roles with their aggregation
labels exist too, so a role labelled ``rbac.authorization.k8s.io/aggregate-to-view: "true"``
extends ``view`` exactly as on a cluster. Like kube-apiserver's bootstrap reconciler, a deleted
object comes back at the next start; a changed one is left alone.

The rules are a faithful subset of kube-apiserver 1.32's ``bootstrappolicy``: the resources this
server does not serve (pods, deployments…) are kept so a policy copied from a cluster reads the
same.
"""

from __future__ import annotations

from typing import Any

RBAC_V1 = "rbac.authorization.k8s.io/v1"
_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _meta(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {**_LABELS, **(labels or {})},
        "annotations": dict(_ANNOTATIONS),
    }


def _cluster_role(
    name: str,
    rules: list[dict[str, Any]],
    *,
    labels: dict[str, str] | None = None,
    aggregate_from: str = "",
) -> dict[str, Any]:
    role: dict[str, Any] = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": _meta(name, labels),
        "rules": rules,
    }
    if aggregate_from:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]
        }
    return role


def _binding(name: str, role: str, *groups: str) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
            for group in groups
        ],
    }


_VIEW_CORE = [
    "configmaps",
    "endpoints",
    "persistentvolumeclaims",
    "persistentvolumeclaims/status",
    "pods",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "serviceaccounts",
    "services",
    "services/status",
]
_VIEW_CORE_EXTRA = [
    "bindings",
    "events",
    "limitranges",
    "namespaces/status",
    "pods/log",
    "pods/status",
    "replicationcontrollers/status",
    "resourcequotas",
    "resourcequotas/status",
]
_EDIT_CORE = [
    "configmaps",
    "endpoints",
    "persistentvolumeclaims",
    "pods",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "secrets",
    "serviceaccounts",
    "services",
]
_APPS = [
    "daemonsets",
    "deployments",
    "deployments/rollback",
    "deployments/scale",
    "replicasets",
    "replicasets/scale",
    "statefulsets",
    "statefulsets/scale",
]


def objects() -> list[dict[str, Any]]:
    """The bootstrap ClusterRoles, then the ClusterRoleBindings (creation order)."""
    roles = [
        _cluster_role(
            "cluster-admin",
            [_rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        ),
        _cluster_role("admin", [], aggregate_from="admin"),
        _cluster_role("edit", [], labels={AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
        _cluster_role(
            "view",
            [],
            labels={AGGREGATE_TO + "admin": "true", AGGREGATE_TO + "edit": "true"},
            aggregate_from="view",
        ),
        _cluster_role(
            "system:aggregate-to-admin",
            [
                _rule([""], ["namespaces"], _READ),
                _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
                _rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], _WRITE + _READ),
            ],
            labels={AGGREGATE_TO + "admin": "true"},
        ),
        _cluster_role(
            "system:aggregate-to-edit",
            [
                _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], _READ),
                _rule([""], ["serviceaccounts"], ["impersonate"]),
                _rule([""], _EDIT_CORE, _WRITE),
                _rule([""], ["secrets"], _READ),
                _rule(["apps"], _APPS, _WRITE),
                _rule(["batch"], ["cronjobs", "jobs"], _WRITE),
                _rule(["coordination.k8s.io"], ["leases"], _WRITE + _READ),
            ],
            labels={AGGREGATE_TO + "edit": "true"},
        ),
        _cluster_role(
            "system:aggregate-to-view",
            [
                _rule([""], _VIEW_CORE + _VIEW_CORE_EXTRA + ["namespaces"], _READ),
                _rule(["apps"], _APPS, _READ),
                _rule(["batch"], ["cronjobs", "jobs"], _READ),
                _rule(["events.k8s.io"], ["events"], _READ),
            ],
            labels={AGGREGATE_TO + "view": "true"},
        ),
        _cluster_role(
            "system:discovery",
            [
                {
                    "nonResourceURLs": [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/healthz",
                        "/livez",
                        "/openapi",
                        "/openapi/*",
                        "/readyz",
                        "/version",
                        "/version/",
                    ],
                    "verbs": ["get"],
                }
            ],
        ),
        _cluster_role(
            "system:basic-user",
            [
                _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
                _rule(
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    ["create"],
                ),
            ],
        ),
        _cluster_role(
            "system:public-info-viewer",
            [
                {
                    "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                    "verbs": ["get"],
                }
            ],
        ),
        _cluster_role(
            "system:auth-delegator",
            [
                _rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
                _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            ],
        ),
    ]
    bindings = [
        _binding("cluster-admin", "cluster-admin", "system:masters"),
        _binding("system:discovery", "system:discovery", "system:authenticated"),
        _binding("system:basic-user", "system:basic-user", "system:authenticated"),
        _binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            "system:authenticated",
            "system:unauthenticated",
        ),
    ]
    return [*roles, *bindings]
