"""Controller-facing semantics through lightkube's async client (as Ferryman's adapters use it)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import Http, load_crd, pipeline

Pipeline = create_namespaced_resource("pipelines.weave.works", "v1alpha1", "Pipeline", "pipelines")


def _client(server: Any) -> AsyncClient:
    return AsyncClient(KubeConfig.from_file(server.kubeconfig_path), field_manager="ferryman-test")


async def _install_crd(client: AsyncClient, server: EmbeddedApiServer) -> None:
    reply = Http(server).post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", load_crd())
    assert reply.status == 201


async def test_crud_status_and_conflict(apiserver: EmbeddedApiServer) -> None:
    """Create, status merge patch, a stale replace (409), then delete, all via lightkube."""
    client = _client(apiserver)
    await _install_crd(client, apiserver)
    created = await client.create(Pipeline(pipeline()))
    patched = await client.patch(
        Pipeline.Status,
        "web",
        {"status": {"observedGeneration": 1}},
        namespace="default",
        patch_type=PatchType.MERGE,
    )
    assert patched.status["observedGeneration"] == 1
    with pytest.raises(ApiError) as conflict:
        await client.replace(created)
    assert conflict.value.status.code == 409
    fetched = await client.get(Pipeline, "web", namespace="default")
    assert fetched.metadata.resourceVersion == patched.metadata.resourceVersion
    await client.delete(Pipeline, "web", namespace="default")
    with pytest.raises(ApiError) as missing:
        await client.get(Pipeline, "web", namespace="default")
    assert missing.value.status.code == 404
    await client.close()


async def _collect(client: AsyncClient, rv: str, count: int) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    async for kind, obj in client.watch(Pipeline, namespace="default", resource_version=rv):
        seen.append((kind, obj.metadata.name))
        if len(seen) == count:
            break
    return seen


async def test_watch_resumes_from_resource_version(apiserver: EmbeddedApiServer) -> None:
    """A watch from an RV replays exactly the later events, in order, then continues live."""
    client = _client(apiserver)
    await _install_crd(client, apiserver)
    first = await client.create(Pipeline(pipeline("a")))
    await client.create(Pipeline(pipeline("b")))
    await client.patch(
        Pipeline,
        "a",
        {"metadata": {"labels": {"x": "1"}}},
        namespace="default",
        patch_type=PatchType.MERGE,
    )
    watcher = asyncio.create_task(_collect(client, first.metadata.resourceVersion, 3))
    await asyncio.sleep(0.2)
    await client.delete(Pipeline, "b", namespace="default")
    seen = await asyncio.wait_for(watcher, 10)
    assert seen == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    await client.close()


async def test_compaction_gives_410_then_relist_works(apiserver: EmbeddedApiServer) -> None:
    """After compaction a watch from an old RV fails with 410; relist + watch from its RV works."""
    client = _client(apiserver)
    await _install_crd(client, apiserver)
    old = await client.create(Pipeline(pipeline("a")))
    await client.patch(
        Pipeline,
        "a",
        {"metadata": {"labels": {"x": "1"}}},
        namespace="default",
        patch_type=PatchType.MERGE,
    )
    apiserver.compact_and_drop_watches()
    with pytest.raises(ApiError) as gone:
        async for _ in client.watch(
            Pipeline, namespace="default", resource_version=old.metadata.resourceVersion
        ):
            pass
    assert gone.value.status.code == 410
    listing = client.list(Pipeline, namespace="default")
    names = [p.metadata.name async for p in listing]
    assert names == ["a"]
    current = (await client.get(Pipeline, "a", namespace="default")).metadata.resourceVersion
    watcher = asyncio.create_task(_collect(client, current, 1))
    await asyncio.sleep(0.2)
    await client.create(Pipeline(pipeline("b")))
    assert await asyncio.wait_for(watcher, 10) == [("ADDED", "b")]
    await client.close()


async def test_two_servers_are_two_clusters(tmp_path: Path) -> None:
    """Two servers keep separate state; each kubeconfig reaches its own."""
    with testing.serve_many(tmp_path, 2) as (one, two):
        c1, c2 = _client(one), _client(two)
        await c1.create(Namespace(metadata={"name": "only-in-one"}))
        names_two = [n.metadata.name async for n in c2.list(Namespace)]
        assert "only-in-one" not in names_two
        assert "only-in-one" in [n.metadata.name async for n in c1.list(Namespace)]
        await c1.close()
        await c2.close()
