"""The read API: authenticated, authorized per verb and scope, sorted lists."""

from __future__ import annotations

from tests.unit.server import harness


async def test_list_everywhere_in_a_namespace_and_get_one() -> None:
    """alice (list/get granted cluster-wide) reads all three routes."""
    h = harness.Harness()
    obj = h.world.pipeline()
    obj["metadata"]["name"] = "another"
    obj.pop("status", None)
    h.world.api.put(obj)
    auth = {"authorization": "Bearer alice-token"}
    everywhere = await h.call("GET", "/api/v1/pipelines", headers=auth)
    assert everywhere.status == 200
    assert [i["metadata"]["name"] for i in everywhere.json()["items"]] == ["another", "podinfo"]
    namespaced = await h.call("GET", "/api/v1/namespaces/default/pipelines", headers=auth)
    assert len(namespaced.json()["items"]) == 2
    assert (await h.call("GET", "/api/v1/namespaces/other/pipelines", headers=auth)).json()[
        "items"
    ] == []
    one = await h.call("GET", "/api/v1/namespaces/default/pipelines/podinfo", headers=auth)
    assert one.status == 200 and one.json()["spec"]["appRef"]["name"] == "podinfo"
    missing = await h.call("GET", "/api/v1/namespaces/default/pipelines/nope", headers=auth)
    assert missing.status == 404


async def test_namespace_scoped_grant_cannot_list_everywhere() -> None:
    """bob may list in "default" only: the cluster-wide list says so in its 403."""
    h = harness.Harness()
    auth = {"authorization": "Bearer bob-token"}
    assert (await h.call("GET", "/api/v1/namespaces/default/pipelines", headers=auth)).status == 200
    reply = await h.call("GET", "/api/v1/pipelines", headers=auth)
    assert reply.status == 403
    assert reply.json()["message"] == (
        'user "bob" may not list pipelines.pipelines.weave.works in any namespace'
    )
    other = await h.call("GET", "/api/v1/namespaces/kube-system/pipelines", headers=auth)
    assert other.json()["message"] == (
        'user "bob" may not list pipelines.pipelines.weave.works in namespace "kube-system"'
    )
