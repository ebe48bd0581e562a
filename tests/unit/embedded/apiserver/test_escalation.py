"""RBAC escalation rules, with the cases of Kubernetes' own tests.

Cases are re-stated from (Apache-2.0): ``k8s.io/component-helpers/auth/rbac/validation/
policy_comparator_test.go`` (``TestCovers*``, ``TestNonResourceURLCovers``),
``pkg/registry/rbac/validation/policy_compact_test.go`` (``TestCompactRules``,
``TestIsSimpleResourceRule``) and ``pkg/registry/rbac/validation/rule_test.go``
(``TestDefaultRuleResolver``). Each id is the Go test's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from ferryman.embedded.apiserver import auth, errors, escalation, rbac

R = dict[str, Any]


def rule(groups: list[str], verbs: list[str], resources: list[str], **extra: Any) -> R:
    """A resource rule (argument order as the Go literals: groups, verbs, resources)."""
    return {"apiGroups": groups, "verbs": verbs, "resources": resources, **extra}


def url_rule(urls: list[str], verbs: list[str]) -> R:
    """A non-resource rule."""
    return {"nonResourceURLs": urls, "verbs": verbs}


def same_rules(left: Iterable[Mapping[str, Any]], right: Iterable[Mapping[str, Any]]) -> bool:
    """Equal as multisets, ignoring empty fields (Go's nil vs empty slices)."""

    def key(r: Mapping[str, Any]) -> str:
        return repr(sorted((k, list(v)) for k, v in r.items() if v))

    return sorted(map(key, left)) == sorted(map(key, right))


COVERS = [
    pytest.param(
        [rule(["v1"], ["get"], ["builds"])], [rule(["v1"], ["get"], ["builds"])], True, [],
        id="TestCoversExactMatch",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["*/scale"])], [rule(["v1"], ["get"], ["foo/scale"])], True, [],
        id="TestCoversSubresourceWildcard",
    ),
    pytest.param(
        [
            rule(["v1"], ["delete"], ["deployments"]),
            rule(["v1"], ["delete"], ["builds"]),
            rule(["v1"], ["update"], ["builds", "deployments"]),
        ],
        [rule(["v1"], ["delete", "update"], ["builds", "deployments"])],
        True, [],
        id="TestCoversMultipleRulesCoveringSingleRule",
    ),
    pytest.param(
        [
            rule([g], verbs, resources)
            for g in ("group1", "group2")
            for verbs, resources in (
                (["delete"], ["deployments"]),
                (["delete"], ["builds"]),
                (["update"], ["builds", "deployments"]),
            )
        ],
        [rule(["group1", "group2"], ["delete", "update"], ["builds", "deployments"])],
        True, [],
        id="TestCoversMultipleAPIGroupsCoveringSingleRule",
    ),
    pytest.param(
        [rule(["group1", "group2"], ["delete", "update"], ["builds", "deployments"])],
        [
            rule([g], verbs, resources)
            for g in ("group1", "group2")
            for verbs, resources in (
                (["delete"], ["deployments"]),
                (["delete"], ["builds"]),
                (["update"], ["builds", "deployments"]),
            )
        ],
        True, [],
        id="TestCoversSingleAPIGroupsCoveringMultiple",
    ),
    pytest.param(
        [
            rule(["v1"], ["delete", "update"], ["builds", "deployments"]),
            rule(["v1"], ["delete"], ["pods"]),
        ],
        [rule(["v1"], ["delete", "update"], ["builds", "deployments", "pods"])],
        False, [rule(["v1"], ["update"], ["pods"])],
        id="TestCoversMultipleRulesMissingSingleVerbResourceCombination",
    ),
    pytest.param(
        [rule(["*"], ["get"], ["roles"])], [rule(["group1", "group2"], ["get"], ["roles"])],
        True, [],
        id="TestCoversAPIGroupStarCoveringMultiple",
    ),
    pytest.param(
        [rule(["dummy-group"], ["get"], ["roles"])], [rule(["*"], ["get"], ["roles"])],
        False, [rule(["*"], ["get"], ["roles"])],
        id="TestCoversEnumerationNotCoveringAPIGroupStar",
    ),
    pytest.param(
        [rule(["*"], ["get"], ["roles"])], [rule(["*"], ["get"], ["roles"])], True, [],
        id="TestCoversAPIGroupStarCoveringStar",
    ),
    pytest.param(
        [rule(["v1"], ["*"], ["roles"])], [rule(["v1"], ["watch", "list"], ["roles"])], True, [],
        id="TestCoversVerbStarCoveringMultiple",
    ),
    pytest.param(
        [rule(["v1"], ["get", "list", "watch", "create", "update", "delete", "exec"], ["roles"])],
        [rule(["v1"], ["*"], ["roles"])],
        False, [rule(["v1"], ["*"], ["roles"])],
        id="TestCoversEnumerationNotCoveringVerbStar",
    ),
    pytest.param(
        [rule(["v1"], ["*"], ["roles"])], [rule(["v1"], ["*"], ["roles"])], True, [],
        id="TestCoversVerbStarCoveringStar",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["*"])], [rule(["v1"], ["get"], ["resourcegroup:deployments"])],
        True, [],
        id="TestCoversResourceStarCoveringMultiple",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["roles", "resourcegroup:deployments"])],
        [rule(["v1"], ["get"], ["*"])],
        False, [rule(["v1"], ["get"], ["*"])],
        id="TestCoversEnumerationNotCoveringResourceStar",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["*"])], [rule(["v1"], ["get"], ["*"])], True, [],
        id="TestCoversResourceStarCoveringStar",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["pods"], resourceNames=[])],
        [rule(["v1"], ["get"], ["pods"], resourceNames=["foo", "bar"])],
        True, [],
        id="TestCoversResourceNameEmptyCoveringMultiple",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["pods"], resourceNames=["foo", "bar"])],
        [rule(["v1"], ["get"], ["pods"], resourceNames=[])],
        False, [rule(["v1"], ["get"], ["pods"])],
        id="TestCoversEnumerationNotCoveringResourceNameEmpty",
    ),
    pytest.param(
        [url_rule(["/apis"], ["*"])], [url_rule(["/apis"], ["*"])], True, [],
        id="TestCoversNonResourceURLs",
    ),
    pytest.param(
        [url_rule(["*"], ["*"])], [url_rule(["/apis", "/apis/v1", "/"], ["*"])], True, [],
        id="TestCoversNonResourceURLsStar",
    ),
    pytest.param(
        [url_rule(["/apis/*"], ["*"])], [url_rule(["/apis", "/apis/v1"], ["get"])],
        False, [url_rule(["/apis"], ["get"])],
        id="TestCoversNonResourceURLsStarAfterPrefixDoesntCover",
    ),
    pytest.param(
        [url_rule(["/apis/*"], ["*"])], [url_rule(["/apis/v1/foo", "/apis/v1"], ["get"])],
        True, [],
        id="TestCoversNonResourceURLsStarAfterPrefix",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["builds"], nonResourceURLs=["/apis"])],
        [rule(["v1"], ["get"], ["builds"], nonResourceURLs=["/apis"])],
        True, [],
        id="TestCoversNonResourceURLsWithOtherFields",
    ),
    pytest.param(
        [rule(["v1"], ["get"], ["builds"])],
        [rule(["v1"], ["get"], ["builds"], nonResourceURLs=["/apis"])],
        False, [url_rule(["/apis"], ["get"])],
        id="TestCoversNonResourceURLsWithOtherFieldsFailure",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("owner", "servant", "covered", "missing"), COVERS)
def test_covers(owner: list[R], servant: list[R], covered: bool, missing: list[R]) -> None:
    """``Covers`` answers as Kubernetes' and names exactly the broken-down rules not covered."""
    got_covered, got_missing = escalation.covers(owner, servant)
    assert got_covered is covered
    assert same_rules(got_missing, missing)


@pytest.mark.parametrize(
    ("owner", "requested", "want"),
    [
        ("*", "", True),
        ("*", "/", True),
        ("*", "/api", True),
        ("/*", "", False),
        ("/*", "/", True),
        ("/*", "/foo", True),
        ("/api", "/api", True),
        ("/apis", "/api", False),
        ("/api/v1", "/api", False),
        ("/api/v1", "/api/v1", True),
        ("/api/*", "/api/v1", True),
        ("/api/*", "/api", False),
        ("/api/*/*", "/api/v1", False),
        ("/*/v1/*", "/api/v1", False),
    ],
)
def test_non_resource_url_covers(owner: str, requested: str, want: bool) -> None:
    """``TestNonResourceURLCovers``."""
    assert escalation.url_covers(owner, requested) is want


def test_compact_rules_simple() -> None:
    """``TestCompactRules`` "simple": same group/resource/name merge verbs; others stay."""
    rules = [
        rule([""], ["get"], ["builds"]),
        rule([""], ["list"], ["builds"]),
        rule([""], ["update", "patch"], ["builds"]),
        rule(["extensions"], ["create"], ["daemonsets"]),
        rule(["extensions"], ["delete"], ["daemonsets"]),
        rule(["extensions"], ["patch"], ["daemonsets"], resourceNames=[""]),
        rule(["extensions"], ["get"], ["daemonsets"], resourceNames=["foo"]),
        rule(["extensions"], ["list"], ["daemonsets"], resourceNames=["foo"]),
        rule([""], ["educate"], ["dolphins"]),
        {"apiGroups": [""], "resources": ["pirates"], "verbs": None},
        {"apiGroups": [""], "resources": ["pods"], "verbs": None},
        rule([""], ["create"], ["pods"]),
    ]
    expected = [
        rule(["extensions"], ["create", "delete"], ["daemonsets"]),
        rule(["extensions"], ["patch"], ["daemonsets"], resourceNames=[""]),
        rule(["extensions"], ["get", "list"], ["daemonsets"], resourceNames=["foo"]),
        rule([""], ["get", "list", "update", "patch"], ["builds"]),
        rule([""], ["educate"], ["dolphins"]),
        {"apiGroups": [""], "resources": ["pirates"]},
        rule([""], ["create"], ["pods"]),
    ]
    compacted = escalation.compact(rules)
    assert same_rules(compacted, expected)
    assert escalation.covers(compacted, rules)[0] and escalation.covers(rules, compacted)[0]


@pytest.mark.parametrize(
    "rules",
    [
        [rule(["", "builds.openshift.io"], ["get"], ["builds"]),
         rule(["", "builds.openshift.io"], ["list"], ["builds"])],
        [rule([""], ["get"], ["builds", "images"]), rule([""], ["list"], ["builds", "images"])],
        [rule([""], ["get"], ["builds"], resourceNames=["mybuild"]),
         rule([""], ["list"], ["builds"], resourceNames=["mybuild2"])],
        [rule([""], ["get"], ["builds"], nonResourceURLs=["/"]),
         rule([""], ["get"], ["builds"], nonResourceURLs=["/foo"])],
    ],
    ids=["complex multi-group", "complex multi-resource", "complex named-resource",
         "complex non-resource"],
)  # fmt: skip
def test_compact_rules_keeps_complex_rules(rules: list[R]) -> None:
    """``TestCompactRules``: rules that are not simple are kept as they are."""
    assert same_rules(escalation.compact(rules), rules)


def test_compact_string_is_kube_apiservers() -> None:
    """``CompactString``, as the escalation message lists missing rules."""
    assert (
        escalation.compact_string(rule(["pipelines.weave.works"], ["approve"], ["pipelines"]))
        == '{APIGroups:["pipelines.weave.works"], Resources:["pipelines"], Verbs:["approve"]}'
    )
    assert (
        escalation.compact_string({"nonResourceURLs": ["*"], "verbs": ["*"]})
        == '{NonResourceURLs:["*"], Verbs:["*"]}'
    )


class Store:
    """``rbac.RBACStore`` over lists (``StaticRoles`` of rule_test.go)."""

    def __init__(self, **lists: list[R]) -> None:
        self.lists = lists

    def cluster_roles(self) -> list[R]:
        return self.lists.get("cluster_roles", [])

    def cluster_role_bindings(self) -> list[R]:
        return self.lists.get("cluster_role_bindings", [])

    def roles(self, namespace: str) -> list[R]:
        return [r for r in self.lists.get("roles", []) if r["metadata"]["namespace"] == namespace]

    def role_bindings(self, namespace: str) -> list[R]:
        return [
            b
            for b in self.lists.get("role_bindings", [])
            if b["metadata"]["namespace"] == namespace
        ]


READ_PODS = rule(["v1"], ["GET", "WATCH"], ["pods"])
READ_SERVICES = rule(["v1"], ["GET", "WATCH"], ["services"])
WRITE_NODES = rule(["v1"], ["PUT", "CREATE", "UPDATE"], ["nodes"])
ADMIN = rule(["*"], ["*"], ["*"])
STATIC_ROLES = Store(
    roles=[
        {"metadata": {"namespace": "namespace1", "name": "readthings"},
         "rules": [READ_PODS, READ_SERVICES]},
    ],
    cluster_roles=[
        {"metadata": {"name": "cluster-admin"}, "rules": [ADMIN]},
        {"metadata": {"name": "write-nodes"}, "rules": [WRITE_NODES]},
    ],
    role_bindings=[
        {"metadata": {"namespace": "namespace1", "name": "b"},
         "subjects": [{"kind": "User", "name": "foobar"}, {"kind": "Group", "name": "group1"}],
         "roleRef": {"apiGroup": rbac.RBAC_GROUP, "kind": "Role", "name": "readthings"}},
    ],
    cluster_role_bindings=[
        {"metadata": {"name": "c"},
         "subjects": [{"kind": "User", "name": "admin"}, {"kind": "Group", "name": "admin"}],
         "roleRef": {"apiGroup": rbac.RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"}},
    ],
)  # fmt: skip


@pytest.mark.parametrize(
    ("user", "namespace", "effective"),
    [
        (rbac.UserInfo("foobar"), "namespace1", [READ_PODS, READ_SERVICES]),
        (rbac.UserInfo("foobar"), "namespace2", []),
        (rbac.UserInfo("foobar", groups=("admin",)), "", [ADMIN]),
        (rbac.UserInfo(""), "", []),
    ],
    ids=["namespaced binding", "other namespace", "cluster rules only", "nobody"],
)
def test_default_rule_resolver(user: rbac.UserInfo, namespace: str, effective: list[R]) -> None:
    """``TestDefaultRuleResolver``: the rules that apply to a user in a namespace."""
    assert same_rules(rbac.rules_for(STATIC_ROLES, user, namespace, []), effective)


def test_message_is_kube_apiservers() -> None:
    """403 names the user, their groups in Go's %q form and each missing rule on its own line."""
    guard = escalation.Guard(STATIC_ROLES, lambda attributes: (False, ""))
    alice = auth.User("alice", groups=("team", "system:authenticated"))
    role = {
        "metadata": {"name": "approve-mine", "namespace": "namespace1"},
        "rules": [
            rule(["pipelines.weave.works"], ["approve", "reject"], ["pipelines"]),
            rule([""], ["get"], ["secrets"]),
        ],
    }
    with pytest.raises(errors.ApiError) as raised:
        guard.check("roles", role, None, requester=alice, namespace="namespace1", request_name="")
    assert raised.value.code == 403
    assert raised.value.message == (
        'roles.rbac.authorization.k8s.io "approve-mine" is forbidden: user "alice" '
        '(groups=["team" "system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}\n'
        '{APIGroups:["pipelines.weave.works"], Resources:["pipelines"], '
        'Verbs:["approve" "reject"]}'
    )


def test_only_garbage_collection_fields_may_change_unchecked() -> None:
    """``IsOnlyMutatingGCFields``: owner references and finalizers alone are not checked."""
    old = {"metadata": {"name": "r", "resourceVersion": "3"}, "rules": [ADMIN]}
    gc = {"metadata": {"name": "r", "finalizers": ["x"], "ownerReferences": [{"uid": "u"}]},
          "rules": [ADMIN]}  # fmt: skip
    labelled = {"metadata": {"name": "r", "labels": {"a": "b"}}, "rules": [ADMIN]}
    assert escalation.only_gc_fields_change(gc, old)
    assert not escalation.only_gc_fields_change(labelled, old)
