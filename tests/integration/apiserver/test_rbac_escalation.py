"""RBAC escalation prevention over HTTP, with the cases of Kubernetes' integration test.

``requests`` below re-states the binding requests of the second case of ``TestRBAC`` in
``test/integration/auth/rbac_test.go`` (Kubernetes, Apache-2.0), same users, roles and expected
codes; the job requests of that case test authorization, which ``test_rbac_authorization`` covers.
Then what the same storage code enforces for roles: the ``escalate`` verb, rules held, the
``aggregationRule`` and updates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import Http

RBAC = "/apis/rbac.authorization.k8s.io/v1"
G = "rbac.authorization.k8s.io"
NOT_HELD = "is attempting to grant RBAC permissions not currently held"
USERS = (
    "any-rolebinding-writer",
    "any-rolebinding-writer-namespace",
    "job-writer",
    "job-writer-namespace",
    "nonescalating-rolebinding-writer",
    "user-with-no-permissions",
    "role-writer",
    "escalator",
)


def ref(kind: str, name: str) -> dict[str, str]:
    """A roleRef."""
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def users(*names: str) -> list[dict[str, str]]:
    """User subjects."""
    return [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": n} for n in names]


def cluster_role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    """A ClusterRole."""
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def rule(verbs: list[str], group: str, resources: list[str]) -> dict[str, Any]:
    """``rbachelper.NewRule(verbs...).Groups(group).Resources(resources...)``."""
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


BOOTSTRAP: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/namespaces", {"metadata": {"name": "job-namespace"}}),
    ("/api/v1/namespaces", {"metadata": {"name": "forbidden-namespace"}}),
    (f"{RBAC}/clusterroles", cluster_role("write-jobs", rule(["*"], "batch", ["*"]))),
    (
        f"{RBAC}/clusterroles",
        cluster_role("create-rolebindings", rule(["create"], G, ["rolebindings"])),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role("bind-any-clusterrole", rule(["bind"], G, ["clusterroles"])),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role(
            "write-roles",
            rule(["create", "update", "patch"], G, ["roles", "clusterroles"]),
        ),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role("escalate-roles", rule(["escalate"], G, ["roles"])),
    ),
    (
        f"{RBAC}/clusterrolebindings",
        {"metadata": {"name": "write-jobs"}, "subjects": users("job-writer"),
         "roleRef": ref("ClusterRole", "write-jobs")},
    ),
    (
        f"{RBAC}/clusterrolebindings",
        {"metadata": {"name": "create-rolebindings"},
         "subjects": users(
             "job-writer", "nonescalating-rolebinding-writer", "any-rolebinding-writer"
         ),
         "roleRef": ref("ClusterRole", "create-rolebindings")},
    ),
    (
        f"{RBAC}/clusterrolebindings",
        {"metadata": {"name": "bind-any-clusterrole"}, "subjects": users("any-rolebinding-writer"),
         "roleRef": ref("ClusterRole", "bind-any-clusterrole")},
    ),
    (
        f"{RBAC}/clusterrolebindings",
        {"metadata": {"name": "write-roles"}, "subjects": users("role-writer", "escalator"),
         "roleRef": ref("ClusterRole", "write-roles")},
    ),
    (
        f"{RBAC}/namespaces/job-namespace/rolebindings",
        {"metadata": {"name": "write-jobs"}, "subjects": users("job-writer-namespace"),
         "roleRef": ref("ClusterRole", "write-jobs")},
    ),
    (
        f"{RBAC}/namespaces/job-namespace/rolebindings",
        {"metadata": {"name": "create-rolebindings"},
         "subjects": users("job-writer-namespace", "any-rolebinding-writer-namespace"),
         "roleRef": ref("ClusterRole", "create-rolebindings")},
    ),
    (
        f"{RBAC}/namespaces/job-namespace/rolebindings",
        {"metadata": {"name": "bind-any-clusterrole"},
         "subjects": users("any-rolebinding-writer-namespace"),
         "roleRef": ref("ClusterRole", "bind-any-clusterrole")},
    ),
    (
        f"{RBAC}/namespaces/job-namespace/rolebindings",
        {"metadata": {"name": "escalate-roles"}, "subjects": users("escalator"),
         "roleRef": ref("ClusterRole", "escalate-roles")},
    ),
]  # fmt: skip
WRITE_JOBS_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "pi"},
    "roleRef": ref("ClusterRole", "write-jobs"),
    "subjects": users("admin"),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedApiServer]:
    """A server with the case's users and bootstrap roles (written by the admin)."""
    base: Path = tmp_path_factory.mktemp("escalation")
    tokens = base / "tokens.csv"
    tokens.write_text("".join(f"{name},{name},{name},\n" for name in USERS))
    with testing.serve(base / "api", token_file=tokens) as server:
        admin = Http(server)
        for path, body in BOOTSTRAP:
            reply = admin.post(path, body)
            assert reply.status == 201, (path, reply.body)
        yield server


def rolebindings(namespace: str) -> str:
    """The RoleBinding collection of ``namespace``."""
    return f"{RBAC}/namespaces/{namespace}/rolebindings"


@pytest.mark.parametrize(
    ("user", "namespace", "status", "why"),
    [
        # cannot bind role anywhere
        ("user-with-no-permissions", "job-namespace", 403, "cannot create"),
        # can only bind role in namespace where they have explicit bind permission
        ("any-rolebinding-writer-namespace", "forbidden-namespace", 403, "cannot create"),
        # can only bind role in namespace where they have covering permissions
        ("job-writer-namespace", "forbidden-namespace", 403, "cannot create"),
        ("job-writer-namespace", "job-namespace", 201, ""),
        # can bind role in any namespace where they have covering permissions
        ("job-writer", "forbidden-namespace", 201, ""),
        # cannot bind role because they don't have covering permissions
        ("nonescalating-rolebinding-writer", "job-namespace", 403, NOT_HELD),
        # can bind role because they have explicit bind permission
        ("any-rolebinding-writer", "job-namespace", 201, ""),
        ("any-rolebinding-writer-namespace", "job-namespace", 201, ""),
    ],
)
def test_rbac_rolebinding_delegation(
    cluster: EmbeddedApiServer, user: str, namespace: str, status: int, why: str
) -> None:
    """TestRBAC case 2: binding ``write-jobs`` needs its rules or ``bind`` on it, there."""
    reply = Http(cluster, user).post(rolebindings(namespace), WRITE_JOBS_BINDING)
    assert reply.status == status, reply.body
    if status == 201:
        assert Http(cluster).delete(f"{rolebindings(namespace)}/pi").status == 200
    else:
        assert why in reply.body["message"]


def role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    """A Role (its namespace comes from the URL)."""
    return {"kind": "Role", "metadata": {"name": name}, "rules": list(rules)}


def test_roles_need_the_rules_they_grant_or_escalate(cluster: EmbeddedApiServer) -> None:
    """role-writer may write roles but not grant ``get secrets``; escalator holds ``escalate``
    on roles in job-namespace and may, there only."""
    roles = f"{RBAC}/namespaces/job-namespace/roles"
    secrets = role("read-secrets", rule(["get"], "", ["secrets"]))
    refused = Http(cluster, "role-writer").post(roles, secrets)
    assert refused.status == 403
    assert refused.body["message"] == (
        'roles.rbac.authorization.k8s.io "read-secrets" is forbidden: user "role-writer" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently '
        'held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
    )
    assert Http(cluster, "escalator").post(roles, secrets).status == 201
    elsewhere = f"{RBAC}/namespaces/forbidden-namespace/roles"
    assert Http(cluster, "escalator").post(elsewhere, secrets).status == 403


def test_updates_are_checked_unless_they_touch_only_gc_fields(cluster: EmbeddedApiServer) -> None:
    """A patch adding a rule the writer does not hold is refused; adding a finalizer is not."""
    admin = Http(cluster)
    roles = f"{RBAC}/namespaces/job-namespace/roles"
    assert admin.post(roles, role("wide", rule(["*"], "*", ["*"]))).status == 201
    writer = Http(cluster, "role-writer")
    assert writer.patch(f"{roles}/wide", {"metadata": {"finalizers": ["x/y"]}}).status == 200
    labelled = writer.patch(f"{roles}/wide", {"metadata": {"labels": {"a": "b"}}})
    assert labelled.status == 403
    assert admin.patch(f"{roles}/wide", {"metadata": {"finalizers": None}}).status == 200


def test_aggregation_rule_needs_cluster_admin(cluster: EmbeddedApiServer) -> None:
    """A ClusterRole with an aggregationRule (it can gather anything) needs full authority."""
    aggregated = {
        "kind": "ClusterRole",
        "metadata": {"name": "gather"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
        "rules": [],
    }
    reply = Http(cluster, "escalator").post(f"{RBAC}/clusterroles", aggregated)
    assert reply.status == 403
    assert reply.body["message"] == (
        'clusterroles.rbac.authorization.k8s.io "gather" is forbidden: '
        "must have cluster-admin privileges to use the aggregationRule"
    )


def test_binding_a_missing_role_is_404_without_bind(cluster: EmbeddedApiServer) -> None:
    """``GetRoleReferenceRules`` fails for a missing role: 404, as kube-apiserver answers."""
    binding = {
        **WRITE_JOBS_BINDING,
        "metadata": {"name": "ghost"},
        "roleRef": ref("ClusterRole", "nope"),
    }
    reply = Http(cluster, "job-writer").post(rolebindings("job-namespace"), binding)
    assert reply.status == 404
