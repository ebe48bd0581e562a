"""Strategic merge patch behaves like Kubernetes' for the built-in kinds the embedded API serves.

Cases follow the Kubernetes strategic merge patch documentation
(community/contributors/devel/sig-api-machinery/strategic-merge-patch.md) and the behaviour of
``strategicpatch.StrategicMergeMapPatch``; each id names the behaviour.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ferryman.embedded.apiserver import strategic, strategic_schema

DEPLOYMENT = "apps/v1/Deployment"


def deployment(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A Deployment whose pod template holds ``containers``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": containers}}, **spec},
    }


def pod_spec(patch: dict[str, Any]) -> dict[str, Any]:
    """Wrap a pod spec patch into a Deployment patch."""
    return {"spec": {"template": {"spec": patch}}}


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod template's containers of a Deployment."""
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "secret data keys merge and null deletes one",
        "v1/Secret",
        {"data": {"a": "MQ==", "b": "Mg=="}, "type": "Opaque"},
        {"data": {"b": None, "c": "Mw=="}},
        {"data": {"a": "MQ==", "c": "Mw=="}, "type": "Opaque"},
    ),
    (
        "null for a key the object lacks is ignored",
        "v1/ConfigMap",
        {"data": {"a": "1"}},
        {"data": {"zzz": None}, "metadata": {"labels": None}},
        {"data": {"a": "1"}, "metadata": {}},
    ),
    (
        "map $patch replace swaps the whole map",
        "v1/ConfigMap",
        {"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}},
        {"metadata": {"labels": {"$patch": "replace", "c": "3"}}},
        {"metadata": {"labels": {"c": "3"}}, "data": {"x": "1"}},
    ),
    (
        "map $patch delete empties the map",
        "v1/ConfigMap",
        {"data": {"x": "1", "y": "2"}},
        {"data": {"$patch": "delete"}},
        {"data": {}},
    ),
    (
        "root $patch replace replaces the object",
        "v1/Namespace",
        {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {}},
        {"$patch": "replace", "metadata": {"name": "a"}},
        {"metadata": {"name": "a"}},
    ),
    (
        "finalizers are a set: union without duplicates",
        "v1/Namespace",
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
    ),
    (
        "$deleteFromPrimitiveList removes finalizers",
        "v1/ServiceAccount",
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
    ),
    (
        "$deleteFromPrimitiveList on a missing list is a no-op",
        "v1/ServiceAccount",
        {"metadata": {"name": "x"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"name": "x"}},
    ),
    (
        "ownerReferences merge by uid",
        "v1/ConfigMap",
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}},
        {"metadata": {"ownerReferences": [{"uid": "2", "controller": True}]}},
        {
            "metadata": {
                "ownerReferences": [
                    {"uid": "1", "name": "a"},
                    {"uid": "2", "name": "b", "controller": True},
                ]
            }
        },
    ),
    (
        "ClusterRole rules are atomic and replaced",
        "rbac.authorization.k8s.io/v1/ClusterRole",
        {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
        {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
    ),
    (
        "RoleBinding subjects are atomic and replaced",
        "rbac.authorization.k8s.io/v1/RoleBinding",
        {"subjects": [{"kind": "User", "name": "a"}], "roleRef": {"name": "r"}},
        {"subjects": [{"kind": "User", "name": "b"}]},
        {"subjects": [{"kind": "User", "name": "b"}], "roleRef": {"name": "r"}},
    ),
    (
        "Service ports merge by port",
        "v1/Service",
        {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}},
        {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}},
        {
            "spec": {
                "ports": [
                    {"port": 80, "name": "http"},
                    {"port": 443, "name": "https", "targetPort": 8443},
                ]
            }
        },
    ),
    (
        "Lease spec fields are replaced",
        "coordination.k8s.io/v1/Lease",
        {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}},
        {"spec": {"holderIdentity": "b"}},
        {"spec": {"holderIdentity": "b", "leaseDurationSeconds": 15}},
    ),
    (
        "events.k8s.io Event note changes",
        "events.k8s.io/v1/Event",
        {"note": "a", "series": {"count": 1}},
        {"note": "b", "series": {"count": 2}},
        {"note": "b", "series": {"count": 2}},
    ),
    (
        "CRD versions list is replaced (no merge key)",
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
        {"spec": {"versions": [{"name": "v1"}, {"name": "v2"}], "scope": "Namespaced"}},
        {"spec": {"versions": [{"name": "v3"}]}},
        {"spec": {"versions": [{"name": "v3"}], "scope": "Namespaced"}},
    ),
    (
        "CRD schema properties merge as a map of schemas",
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
        {"spec": {"versions": []}, "x": {"properties": {"a": {"type": "string"}}}},
        {"x": {"properties": {"b": {"type": "integer", "nullable": None}}}},
        {
            "spec": {"versions": []},
            "x": {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
        },
    ),
    (
        "a value the object lacks is taken with its directives processed",
        "v1/ConfigMap",
        {},
        {"metadata": {"labels": {"$patch": "replace", "a": "1", "b": None}}},
        {"metadata": {"labels": {"a": "1"}}},
    ),
    (
        "a map replacing a scalar is taken whole",
        "v1/ConfigMap",
        {"data": "oops"},
        {"data": {"a": "1"}},
        {"data": {"a": "1"}},
    ),
]


@pytest.mark.parametrize(
    ("kind_key", "original", "patch", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_patch_table(
    kind_key: str, original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Each documented rule gives the documented result."""
    assert strategic.apply(kind_key, original, patch) == expected


def test_containers_merge_by_name_and_keep_the_others() -> None:
    """A container named in the patch is merged; the other containers are untouched."""
    original = deployment(
        [{"name": "nginx", "image": "nginx:1"}, {"name": "log-tailer", "image": "tail:1"}]
    )
    result = strategic.apply(
        DEPLOYMENT, original, pod_spec({"containers": [{"name": "nginx", "image": "nginx:2"}]})
    )
    assert containers_of(result) == [
        {"name": "nginx", "image": "nginx:2"},
        {"name": "log-tailer", "image": "tail:1"},
    ]


def test_added_container_goes_first_like_kubectl_patch() -> None:
    """A container only the patch has lands before the server's ones (Kubernetes' ordering rule)."""
    original = deployment([{"name": "nginx", "image": "nginx:1"}])
    result = strategic.apply(
        DEPLOYMENT, original, pod_spec({"containers": [{"name": "redis", "image": "redis"}]})
    )
    assert [c["name"] for c in containers_of(result)] == ["redis", "nginx"]


def test_patch_order_wins_but_server_only_items_keep_their_place() -> None:
    """Patched items follow the patch order; a server-only item stays before later items."""
    original = deployment([{"name": "1"}, {"name": "2", "image": "b"}, {"name": "3"}])
    patch = pod_spec({"containers": [{"name": "3", "image": "c"}, {"name": "1", "image": "a"}]})
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result) == [
        {"name": "2", "image": "b"},
        {"name": "3", "image": "c"},
        {"name": "1", "image": "a"},
    ]


def test_env_merges_by_name_inside_a_container() -> None:
    """env is a merge list keyed by name, nested inside the containers merge list."""
    original = deployment(
        [{"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]
    )
    patch = pod_spec({"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]})
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result)[0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
    ]


def test_ports_merge_by_container_port() -> None:
    """Container ports merge by containerPort."""
    original = deployment([{"name": "app", "ports": [{"containerPort": 80, "name": "http"}]}])
    patch = pod_spec(
        {"containers": [{"name": "app", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
    )
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result)[0]["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"}
    ]


def test_item_patch_delete_removes_the_container() -> None:
    """Doc example: ``$patch: delete`` with the merge key removes that container."""
    original = deployment([{"name": "nginx", "image": "n"}, {"name": "log-tailer", "image": "t"}])
    patch = pod_spec(
        {
            "containers": [
                {"name": "nginx", "image": "nginx-1.0"},
                {"$patch": "delete", "name": "log-tailer"},
            ]
        }
    )
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result) == [{"name": "nginx", "image": "nginx-1.0"}]


def test_item_patch_delete_removes_every_duplicate() -> None:
    """All items with the merge key are deleted, not only the first."""
    original = deployment([{"name": "1"}, {"name": "1"}, {"name": "2", "image": "a"}])
    patch = pod_spec({"containers": [{"name": "1", "$patch": "delete"}]})
    assert containers_of(strategic.apply(DEPLOYMENT, original, patch)) == [
        {"name": "2", "image": "a"}
    ]


def test_item_patch_replace_replaces_the_list() -> None:
    """Doc example: a ``$patch: replace`` item makes the list exactly the other items."""
    original = deployment([{"name": "nginx", "image": "n"}, {"name": "log-tailer"}])
    patch = pod_spec(
        {"containers": [{"name": "nginx", "image": "nginx-1.0"}, {"$patch": "replace"}]}
    )
    assert containers_of(strategic.apply(DEPLOYMENT, original, patch)) == [
        {"name": "nginx", "image": "nginx-1.0"}
    ]


def test_item_patch_replace_alone_empties_the_list() -> None:
    """``- $patch: replace`` alone deletes every item."""
    original = deployment([{"name": "a"}, {"name": "b"}])
    patch = pod_spec({"containers": [{"$patch": "replace"}]})
    assert containers_of(strategic.apply(DEPLOYMENT, original, patch)) == []


def test_set_element_order_reorders_merged_list() -> None:
    """``$setElementOrder/containers`` fixes the final order, including unchanged items."""
    original = deployment([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    patch = pod_spec(
        {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "x"}],
        }
    )
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result) == [{"name": "c"}, {"name": "a", "image": "x"}, {"name": "b"}]


def test_set_element_order_keeps_server_only_items() -> None:
    """Items missing from ``$setElementOrder`` stay, placed by their original position."""
    original = deployment([{"name": "1"}, {"name": "3"}])
    patch = pod_spec(
        {
            "$setElementOrder/containers": [{"name": "3"}, {"name": "2"}, {"name": "1"}],
            "containers": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}],
        }
    )
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert containers_of(result) == [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}]


def test_set_element_order_for_primitive_list() -> None:
    """``$setElementOrder/finalizers`` orders a set of scalars; unknown entries are ignored."""
    original = {"metadata": {"finalizers": ["1", "3"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["3", "2", "1"]}}
    assert strategic.apply("v1/Secret", original, patch) == {"metadata": {"finalizers": ["3", "1"]}}


def test_set_element_order_that_contradicts_the_patch_is_rejected() -> None:
    """The patch list must follow the ``$setElementOrder`` order."""
    original = deployment([{"name": "1"}, {"name": "3"}, {"name": "2"}])
    patch = pod_spec(
        {
            "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}],
        }
    )
    with pytest.raises(strategic.StrategicMergeError, match="does not match"):
        strategic.apply(DEPLOYMENT, original, patch)


def test_retain_keys_clears_fields_not_listed() -> None:
    """Deployment ``strategy`` has retainKeys: switching to Recreate drops rollingUpdate."""
    original = deployment([], strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_without_directive_merges() -> None:
    """Without ``$retainKeys`` a retainKeys field merges like any map."""
    original = deployment([], strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    patch = {"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": 0}}}}
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert result["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_retain_keys_rejects_a_patch_field_it_omits() -> None:
    """Every non-null patch field must be listed in ``$retainKeys``."""
    original = deployment([], strategy={"type": "RollingUpdate"})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}
    with pytest.raises(strategic.StrategicMergeError, match="retainKeys"):
        strategic.apply(DEPLOYMENT, original, patch)


def test_volumes_merge_by_name_with_retain_keys_on_items() -> None:
    """Volumes (merge,retainKeys): an item's ``$retainKeys`` swaps its volume source."""
    original = deployment([])
    original["spec"]["template"]["spec"]["volumes"] = [
        {"name": "data", "emptyDir": {}},
        {"name": "conf", "configMap": {"name": "c"}},
    ]
    patch = pod_spec(
        {
            "volumes": [
                {"name": "data", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}
            ]
        }
    )
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "secret": {"secretName": "s"}},
        {"name": "conf", "configMap": {"name": "c"}},
    ]


def test_new_merge_list_items_are_normalised() -> None:
    """An added item's nulls are dropped instead of stored."""
    original = deployment([{"name": "a"}])
    patch = pod_spec({"containers": [{"name": "a"}, {"name": "b", "image": "x", "args": None}]})
    result = strategic.apply(DEPLOYMENT, original, patch)
    assert {"name": "b", "image": "x"} in containers_of(result)


def test_inputs_are_not_modified() -> None:
    """apply works on copies: the stored object and the request body stay as they were."""
    original = deployment([{"name": "a", "image": "1"}])
    patch = pod_spec({"containers": [{"name": "a", "$patch": "delete"}]})
    original_copy, patch_copy = copy.deepcopy(original), copy.deepcopy(patch)
    strategic.apply(DEPLOYMENT, original, patch)
    assert (original, patch) == (original_copy, patch_copy)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"data": {"$patch": "merge"}}, 'unknown patch type "merge"'),
        ({"data": {"$patch": "bogus"}}, 'unknown patch type "bogus"'),
        ({"$foo": 1}, 'unknown strategic merge patch directive "\\$foo"'),
        ({"metadata": {"$retainKeys": "name"}}, "must be a list"),
        ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, "hold a list"),
        ({"metadata": {"$setElementOrder/finalizers": "a"}}, "hold a list"),
    ],
    ids=[
        "map $patch merge is rejected like Kubernetes",
        "unknown map $patch value",
        "unknown $ directive",
        "$retainKeys not a list",
        "$deleteFromPrimitiveList not a list",
        "$setElementOrder not a list",
    ],
)
def test_invalid_map_directives(patch: dict[str, Any], message: str) -> None:
    """Invalid directives raise StrategicMergeError with a sentence naming the problem."""
    original = {"metadata": {"finalizers": ["a"]}, "data": {"a": "1"}}
    with pytest.raises(strategic.StrategicMergeError, match=message):
        strategic.apply("v1/ConfigMap", original, patch)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"image": "x"}], 'does not contain the merge key "name"'),
        ([{"$patch": "delete"}], 'does not contain the merge key "name"'),
        ([{"name": "a", "$patch": "merge"}], "not allowed"),
        ([{"name": "a", "$patch": "frob"}], 'unknown patch type "frob"'),
        (["a"], "differ in type"),
        ([["a"]], "list of lists"),
    ],
    ids=[
        "item without merge key",
        "delete item without merge key",
        "item $patch merge",
        "unknown item $patch",
        "scalar in a list of maps",
        "list of lists",
    ],
)
def test_invalid_list_items(items: list[Any], message: str) -> None:
    """Merge-list items that cannot be merged raise StrategicMergeError."""
    original = deployment([{"name": "a"}])
    with pytest.raises(strategic.StrategicMergeError, match=message):
        strategic.apply(DEPLOYMENT, original, pod_spec({"containers": items}))


def test_unsupported_kind_names_the_alternatives() -> None:
    """Kinds without strategic metadata (custom resources) get a clear error."""
    with pytest.raises(strategic.StrategicMergeError, match="--type=merge"):
        strategic.apply("pipelines.weave.works/v1alpha1/Pipeline", {}, {})
    assert not strategic.supported("pipelines.weave.works/v1alpha1/Pipeline")


def test_patch_must_be_an_object() -> None:
    """A JSON array or scalar body is not a strategic merge patch."""
    with pytest.raises(strategic.StrategicMergeError, match="JSON object"):
        strategic.apply("v1/Secret", {}, ["x"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kind_key",
    [
        "v1/Secret",
        "v1/ConfigMap",
        "v1/Namespace",
        "v1/ServiceAccount",
        "v1/Event",
        "events.k8s.io/v1/Event",
        "coordination.k8s.io/v1/Lease",
        "rbac.authorization.k8s.io/v1/Role",
        "rbac.authorization.k8s.io/v1/ClusterRole",
        "rbac.authorization.k8s.io/v1/RoleBinding",
        "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
        "apps/v1/Deployment",
        "v1/Service",
    ],
)
def test_every_served_builtin_kind_is_in_the_generated_table(kind_key: str) -> None:
    """The generated metadata covers every built-in kind the embedded server serves."""
    assert strategic.supported(kind_key)
    assert strategic_schema.TYPES[strategic_schema.KINDS[kind_key]]["metadata"] == (
        "meta.v1.ObjectMeta",
        "",
        "",
    )
