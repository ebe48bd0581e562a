"""RBAC enforced on every request of the embedded API server, through HTTP, as on a cluster.

Users come from a kube-apiserver token file; the admin (``system:masters``) writes the policy
once per module, and a table of named cases checks the answer each user gets for each verb.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import Http

RBAC = "/apis/rbac.authorization.k8s.io/v1"
TEAM = "/api/v1/namespaces/team"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/team/leases"
SA_BOT = "system:serviceaccount:team:bot"
TOKENS = (
    "alice-token,alice,u-alice,approvers\n"
    "bob-token,bob,u-bob,\n"
    'carol-token,carol,u-carol,"readers,staff"\n'
    "dave-token,dave,u-dave,\n"
    "eve-token,eve,u-eve,\n"
    f"bot-token,{SA_BOT},u-bot,system:serviceaccounts\n"
)


def rule(group: str, resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    """One PolicyRule."""
    return {"apiGroups": [group], "resources": resources, "verbs": verbs, **extra}


def cluster_role(name: str, rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A ClusterRole (``metadata`` extras such as labels via ``labels=``)."""
    labels = extra.pop("labels", None)
    meta: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    return {"kind": "ClusterRole", "metadata": meta, "rules": rules, **extra}


def binding(
    kind: str, name: str, role_kind: str, role: str, *subjects: dict[str, str], ns: str = ""
) -> dict[str, Any]:
    """A RoleBinding (``ns`` set) or ClusterRoleBinding."""
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": list(subjects),
    }


def subject(kind: str, name: str, namespace: str = "") -> dict[str, str]:
    """A binding subject."""
    out = {"kind": kind, "name": name}
    if kind != "ServiceAccount":
        out["apiGroup"] = "rbac.authorization.k8s.io"
    if namespace:
        out["namespace"] = namespace
    return out


POLICY: list[tuple[str, dict[str, Any]]] = [
    (f"{RBAC}/clusterroles", cluster_role("secret-reader", [rule("", ["secrets"], ["get"])])),
    (f"{RBAC}/clusterroles", cluster_role("cm-any", [rule("", ["configmaps"], ["*"])])),
    (
        f"{RBAC}/clusterroles",
        cluster_role(
            "named-cm", [rule("", ["configmaps"], ["get", "update"], resourceNames=["allowed"])]
        ),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role(
            "team-reader",
            [],
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"team-reader": "true"}}]},
        ),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role(
            "lease-reader",
            [rule("coordination.k8s.io", ["leases"], ["get", "list"])],
            labels={"team-reader": "true"},
        ),
    ),
    (
        f"{RBAC}/clusterroles",
        cluster_role(
            "view-leases",
            [rule("coordination.k8s.io", ["leases"], ["get"])],
            labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"},
        ),
    ),
    (
        f"{RBAC}/namespaces/team/roles",
        {
            "kind": "Role",
            "metadata": {"name": "cm-creator", "namespace": "team"},
            "rules": [rule("", ["configmaps"], ["create"])],
        },
    ),
    (
        f"{RBAC}/clusterrolebindings",
        binding(
            "ClusterRoleBinding",
            "bob-secrets",
            "ClusterRole",
            "secret-reader",
            subject("User", "bob"),
        ),
    ),
    (
        f"{RBAC}/namespaces/team/rolebindings",
        binding(
            "RoleBinding", "alice-cm", "ClusterRole", "cm-any", subject("User", "alice"), ns="team"
        ),
    ),
    (
        f"{RBAC}/namespaces/team/rolebindings",
        binding(
            "RoleBinding",
            "readers-named",
            "ClusterRole",
            "named-cm",
            subject("Group", "readers"),
            ns="team",
        ),
    ),
    (
        f"{RBAC}/clusterrolebindings",
        binding(
            "ClusterRoleBinding",
            "readers-team",
            "ClusterRole",
            "team-reader",
            subject("Group", "readers"),
        ),
    ),
    (
        f"{RBAC}/clusterrolebindings",
        binding("ClusterRoleBinding", "dave-view", "ClusterRole", "view", subject("User", "dave")),
    ),
    (
        f"{RBAC}/namespaces/team/rolebindings",
        binding(
            "RoleBinding",
            "bot-create",
            "Role",
            "cm-creator",
            subject("ServiceAccount", "bot"),
            ns="team",
        ),
    ),
]
OBJECTS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/namespaces", {"metadata": {"name": "team"}}),
    (f"{TEAM}/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}}),
    ("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}}),
    (f"{TEAM}/configmaps", {"metadata": {"name": "allowed"}, "data": {"a": "1"}}),
    (f"{TEAM}/configmaps", {"metadata": {"name": "other"}}),
    ("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}}),
    (LEASES, {"metadata": {"name": "l"}, "spec": {}}),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedApiServer]:
    """One server for the module: token-file users, the objects, and the policy above."""
    base = tmp_path_factory.mktemp("rbac")
    tokens = base / "tokens.csv"
    tokens.write_text(TOKENS, encoding="utf-8")
    with testing.serve(base / "api", token_file=tokens) as server:
        admin = Http(server)
        for path, body in [*OBJECTS, *POLICY]:
            reply = admin.post(path, body)
            assert reply.status == 201, reply.body
        yield server


def as_user(server: EmbeddedApiServer, name: str) -> Http:
    """Raw HTTP with ``name``'s token from the token file."""
    return Http(server, token=f"{name}-token")


CM = {"metadata": {"name": "new"}, "data": {"x": "y"}}
CASES: list[tuple[str, str, str, str, Any, int]] = [
    # (id, user, method, path, body, expected status)
    ("cluster binding grants get in team", "bob", "GET", f"{TEAM}/secrets/s", None, 200),
    (
        "cluster binding grants get in default",
        "bob",
        "GET",
        "/api/v1/namespaces/default/secrets/s",
        None,
        200,
    ),
    ("get does not grant list", "bob", "GET", f"{TEAM}/secrets", None, 403),
    ("get does not grant watch", "bob", "GET", f"{TEAM}/secrets?watch=true", None, 403),
    ("get does not grant delete", "bob", "DELETE", f"{TEAM}/secrets/s", None, 403),
    ("get does not grant update", "bob", "PUT", f"{TEAM}/secrets/s", {"metadata": {}}, 403),
    ("unbound resource is denied", "bob", "GET", f"{TEAM}/configmaps/allowed", None, 403),
    ("wildcard verb allows get", "alice", "GET", f"{TEAM}/configmaps/other", None, 200),
    ("wildcard verb allows list", "alice", "GET", f"{TEAM}/configmaps", None, 200),
    ("wildcard verb allows create", "alice", "POST", f"{TEAM}/configmaps", CM, 201),
    (
        "wildcard verb allows patch",
        "alice",
        "PATCH",
        f"{TEAM}/configmaps/other",
        {"data": {"p": "q"}},
        200,
    ),
    (
        "wildcard verb covers no other resource",
        "alice",
        "GET",
        f"{TEAM}/secrets/s",
        None,
        403,
    ),
    (
        "RoleBinding stops at its namespace",
        "alice",
        "GET",
        "/api/v1/namespaces/default/configmaps/c",
        None,
        403,
    ),
    (
        "ClusterRole through RoleBinding is not cluster-wide",
        "alice",
        "GET",
        "/api/v1/configmaps",
        None,
        403,
    ),
    ("resourceNames allows the named get", "carol", "GET", f"{TEAM}/configmaps/allowed", None, 200),
    ("resourceNames denies another name", "carol", "GET", f"{TEAM}/configmaps/other", None, 403),
    ("resourceNames never allows list", "carol", "GET", f"{TEAM}/configmaps", None, 403),
    ("resourceNames never allows create", "carol", "POST", f"{TEAM}/configmaps", CM, 403),
    ("aggregated role grants get by group", "carol", "GET", f"{LEASES}/l", None, 200),
    ("aggregated role grants list by group", "carol", "GET", LEASES, None, 200),
    ("aggregated role grants no delete", "carol", "DELETE", f"{LEASES}/l", None, 403),
    ("view reads configmaps", "dave", "GET", f"{TEAM}/configmaps/other", None, 200),
    ("view never reads secrets", "dave", "GET", f"{TEAM}/secrets/s", None, 403),
    ("view never writes", "dave", "DELETE", f"{TEAM}/configmaps/other", None, 403),
    ("aggregate-to-view label extends view", "dave", "GET", f"{LEASES}/l", None, 200),
    (
        "service account through a Role",
        "bot",
        "POST",
        f"{TEAM}/configmaps",
        {"metadata": {"name": "from-bot"}},
        201,
    ),
    (
        "service account Role grants only create",
        "bot",
        "GET",
        f"{TEAM}/configmaps/other",
        None,
        403,
    ),
    ("no binding denies namespaces", "eve", "GET", "/api/v1/namespaces", None, 403),
    ("no binding denies RBAC reads", "eve", "GET", f"{RBAC}/clusterroles", None, 403),
    ("discovery for every user: /api", "eve", "GET", "/api", None, 200),
    ("discovery for every user: /apis", "eve", "GET", "/apis", None, 200),
    ("discovery for every user: group version", "eve", "GET", f"{RBAC}", None, 200),
    ("version for every user", "eve", "GET", "/version", None, 200),
    ("openapi for every user", "eve", "GET", "/openapi/v3", None, 200),
    ("health for every user", "eve", "GET", "/readyz", None, 200),
    (
        "basic-user may ask about itself",
        "eve",
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}},
        201,
    ),
    (
        "asking about others needs a grant",
        "eve",
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {"spec": {"user": "bob", "resourceAttributes": {"verb": "get", "resource": "pods"}}},
        403,
    ),
]


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_rbac_table(
    cluster: EmbeddedApiServer,
    user: str,
    method: str,
    path: str,
    body: Any,
    expected: int,
) -> None:
    """Each user gets 200/201 exactly where a binding grants the verb, 403 everywhere else."""
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    reply = as_user(cluster, user).request(method, path, body, content_type=content_type)
    if method in ("POST",) and reply.status == 201 and "configmaps" in path:
        Http(cluster).delete(f"{path}/{body['metadata']['name']}")
    assert reply.status == expected, reply.body
    if expected == 403:
        assert reply.body["kind"] == "Status" and reply.body["reason"] == "Forbidden"


def test_denial_is_worded_like_kubernetes(cluster: EmbeddedApiServer) -> None:
    """The 403 Status carries kube-apiserver's message and details."""
    reply = as_user(cluster, "bob").get(f"{TEAM}/secrets")
    assert reply.status == 403
    assert reply.body["message"] == (
        'secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" '
        'in the namespace "team"'
    )
    named = as_user(cluster, "eve").get("/api/v1/namespaces/team")
    assert named.body["message"] == (
        'namespaces "team" is forbidden: User "eve" cannot get resource "namespaces" in API '
        'group "" in the namespace "team"'
    )
    assert named.body["details"] == {"name": "team", "kind": "namespaces"}


def test_unknown_token_is_401_not_403(cluster: EmbeddedApiServer) -> None:
    """Authentication comes first: a bad token is Unauthorized whatever the policy."""
    assert Http(cluster, token="nope").get("/api").status == 401


def test_new_binding_takes_effect_at_once(cluster: EmbeddedApiServer) -> None:
    """Writing a binding changes the very next decision (no cache survives a write)."""
    eve = as_user(cluster, "eve")
    assert eve.get(f"{TEAM}/secrets/s").status == 403
    path = f"{RBAC}/namespaces/team/rolebindings"
    created = Http(cluster).post(
        path,
        binding(
            "RoleBinding", "eve-secrets", "ClusterRole", "secret-reader", subject("User", "eve")
        ),
    )
    assert created.status == 201, created.body
    assert eve.get(f"{TEAM}/secrets/s").status == 200
    assert Http(cluster).delete(f"{path}/eve-secrets").status == 200
    assert eve.get(f"{TEAM}/secrets/s").status == 403


def test_aggregated_rules_are_visible_and_follow_their_sources(
    cluster: EmbeddedApiServer,
) -> None:
    """An aggregated ClusterRole's rules are written as the aggregation controller would."""
    admin = Http(cluster)
    role = admin.get(f"{RBAC}/clusterroles/team-reader").body
    assert role["rules"] == [rule("coordination.k8s.io", ["leases"], ["get", "list"])]
    extra = cluster_role(
        "event-reader", [rule("", ["events"], ["list"])], labels={"team-reader": "true"}
    )
    assert admin.post(f"{RBAC}/clusterroles", extra).status == 201
    rules = admin.get(f"{RBAC}/clusterroles/team-reader").body["rules"]
    assert rule("", ["events"], ["list"]) in rules and len(rules) == 2
    assert as_user(cluster, "carol").get(f"{TEAM}/events").status == 200
    assert admin.delete(f"{RBAC}/clusterroles/event-reader").status == 200
    assert len(admin.get(f"{RBAC}/clusterroles/team-reader").body["rules"]) == 1
    view = admin.get(f"{RBAC}/clusterroles/view").body["rules"]
    assert rule("coordination.k8s.io", ["leases"], ["get"]) in view


def test_bootstrap_policy_exists_and_returns_after_restart(tmp_path: Path) -> None:
    """cluster-admin/admin/edit/view and the system: roles exist; a deleted one comes back."""
    with testing.serve(tmp_path / "api") as server:
        admin = Http(server)
        names = {r["metadata"]["name"] for r in admin.get(f"{RBAC}/clusterroles").body["items"]}
        assert {"cluster-admin", "admin", "edit", "view", "system:discovery"} <= names
        assert {"system:basic-user", "system:public-info-viewer"} <= names
        edit = admin.get(f"{RBAC}/clusterroles/edit").body
        assert rule("", ["secrets"], ["get", "list", "watch"]) in edit["rules"]
        assert admin.delete(f"{RBAC}/clusterrolebindings/system:discovery").status == 200
    with testing.serve(tmp_path / "api") as server:
        assert Http(server).get(f"{RBAC}/clusterrolebindings/system:discovery").status == 200


# --------------------------------------------------------------------------- impersonation


def impersonating(
    server: EmbeddedApiServer,
    caller: str,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: Any = None,
) -> tuple[int, Any]:
    """One request as ``caller`` with (possibly repeated) impersonation headers."""
    url = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPSConnection(
        url.hostname or "", url.port, context=server.ssl_context(), timeout=10
    )
    data = json.dumps(body).encode() if body is not None else b""
    try:
        connection.putrequest(method, path)
        token = server.token if caller == "admin" else f"{caller}-token"
        connection.putheader("Authorization", f"Bearer {token}")
        for key, value in headers:
            connection.putheader(key, value)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
IMPERSONATOR = cluster_role(
    "impersonate-alice",
    [
        rule("", ["users"], ["impersonate"], resourceNames=["alice"]),
        rule("", ["groups"], ["impersonate"], resourceNames=["approvers"]),
    ],
)


def test_admin_acts_as_another_user(cluster: EmbeddedApiServer) -> None:
    """--as alice: the request is decided for alice, who gets system:authenticated."""
    status, body = impersonating(
        cluster, "admin", "GET", f"{TEAM}/secrets/s", [("Impersonate-User", "alice")]
    )
    assert status == 403
    assert 'User "alice" cannot get resource "secrets"' in body["message"]
    status, body = impersonating(
        cluster,
        "admin",
        "POST",
        WHOAMI,
        [
            ("Impersonate-User", "alice"),
            ("Impersonate-Group", "approvers"),
            ("Impersonate-Group", "staff"),
            ("Impersonate-Uid", "u-1"),
            ("Impersonate-Extra-Scopes", "read"),
            ("Impersonate-Extra-Scopes", "write"),
        ],
        {},
    )
    assert status == 201, body
    assert body["status"]["userInfo"] == {
        "username": "alice",
        "uid": "u-1",
        "groups": ["approvers", "staff", "system:authenticated"],
        "extra": {"scopes": ["read", "write"]},
    }


def test_impersonation_needs_the_impersonate_verb(cluster: EmbeddedApiServer) -> None:
    """bob may act as alice only once granted, and only with the groups he may impersonate."""
    headers = [("Impersonate-User", "alice")]
    status, body = impersonating(cluster, "bob", "GET", f"{TEAM}/configmaps/other", headers)
    assert status == 403
    assert body["message"] == (
        'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'
    )
    admin = Http(cluster)
    assert admin.post(f"{RBAC}/clusterroles", IMPERSONATOR).status == 201
    grant = binding(
        "ClusterRoleBinding",
        "bob-as-alice",
        "ClusterRole",
        "impersonate-alice",
        subject("User", "bob"),
    )
    assert admin.post(f"{RBAC}/clusterrolebindings", grant).status == 201
    try:
        status, _ = impersonating(cluster, "bob", "GET", f"{TEAM}/configmaps/other", headers)
        assert status == 200
        with_group = [*headers, ("Impersonate-Group", "approvers")]
        assert impersonating(cluster, "bob", "POST", WHOAMI, with_group, {})[0] == 201
        other_group = [*headers, ("Impersonate-Group", "system:masters")]
        status, body = impersonating(cluster, "bob", "GET", f"{TEAM}/configmaps", other_group)
        assert status == 403
        assert body["message"].startswith('groups "system:masters" is forbidden')
        status, body = impersonating(cluster, "bob", "GET", "/api", [("Impersonate-User", "carol")])
        assert status == 403
    finally:
        admin.delete(f"{RBAC}/clusterrolebindings/bob-as-alice")
        admin.delete(f"{RBAC}/clusterroles/impersonate-alice")


def test_impersonating_a_service_account(cluster: EmbeddedApiServer) -> None:
    """A service-account user gets its implied groups and its namespace's Role grants."""
    headers = [("Impersonate-User", SA_BOT)]
    status, body = impersonating(cluster, "admin", "POST", WHOAMI, headers, {})
    assert status == 201
    assert body["status"]["userInfo"]["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:team",
        "system:authenticated",
    ]
    status, _ = impersonating(
        cluster, "admin", "POST", f"{TEAM}/configmaps", headers, {"metadata": {"name": "sa-made"}}
    )
    assert status == 201
    Http(cluster).delete(f"{TEAM}/configmaps/sa-made")


def test_groups_without_a_user_are_refused(cluster: EmbeddedApiServer) -> None:
    """Impersonate-Group alone is a 400 with a sentence saying what is missing."""
    status, body = impersonating(
        cluster, "admin", "GET", "/api", [("Impersonate-Group", "system:masters")]
    )
    assert status == 400
    assert "requires impersonating a user" in body["message"]
