"""The controller against the embedded API server: the whole story, restarts, 410s."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import prometheus_client
from tests.integration.controller import conftest as env
from tests.integration.kube import Kube

from ferryman.api import pipeline, status
from ferryman.bootstrap import process
from ferryman.domain import approvals
from ferryman.embedded.apiserver import server as api_server
from ferryman.settings import Settings

PIPELINE = "pipelines.weave.works/v1alpha1"


async def eventually(check: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def pipeline_status(kube: Kube) -> tuple[dict[str, Any], status.PipelineStatus]:
    obj = await kube.get(PIPELINE, "Pipeline", "default", "podinfo")
    return obj, status.PipelineStatus.model_validate(obj.get("status") or {})


def phase(st: status.PipelineStatus, env_name: str) -> str | None:
    env_status = st.environments.get(env_name)
    record = env_status.promotion if env_status is not None else None
    return record.phase.value if record is not None else None


async def approve(kube: Kube, user: str, revision: str) -> None:
    """Write an approval the way the approval API does."""
    obj, current = await pipeline_status(kube)
    subject = pipeline.Pipeline.model_validate(obj)
    env_spec = subject.spec.environment("prod")
    assert env_spec is not None and env_spec.promotion is not None
    assert env_spec.promotion.approval is not None
    from datetime import UTC, datetime

    updated = approvals.approve(
        current,
        "prod",
        policy=env_spec.promotion.approval,
        approver=approvals.Approver(user, ("release-managers",)),
        revision=revision,
        comment="ship it",
        now=datetime.now(UTC),
    )
    obj["status"] = updated.to_wire()
    await kube.put_status(obj)


def controller_for(server: api_server.EmbeddedApiServer, identity: str) -> process.Controller:
    settings = Settings(kubeconfig=str(server.kubeconfig_path), workers=2, identity=identity)
    return process.build_controller(settings)


async def promote_events(kube: Kube) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for event in await kube.list("events.k8s.io/v1", "Event", "default"):
        if event.get("reason") == "Promote":
            notes = event["metadata"].get("annotations") or {}
            key = (notes["environment"], notes["version"])
            counts[key] = counts.get(key, 0) + 1
    return counts


async def test_story_through_the_embedded_api(apiserver: api_server.EmbeddedApiServer) -> None:
    """dev gets 6.1.0 → staging promoted → prod waits for approval → approved → prod runs it.

    The Pipeline says ``helm.toolkit.fluxcd.io/v2beta1`` (as Weave GitOps-era Pipelines do) while
    the cluster serves only ``v2``: the controller reads the preferred version.
    """
    kube = Kube(apiserver.kubeconfig_path)
    await env.prepare(kube)
    for namespace in ("dev", "staging", "prod"):
        await env.deploy(kube, namespace, "6.0.0")
    await kube.create(env.pipeline_object())
    controller = controller_for(apiserver, "first")
    await controller.start()
    try:
        async with env.running_flux(kube):
            await env.deploy(kube, "dev", "6.1.0")

            async def prod_waits() -> bool:
                _, st = await pipeline_status(kube)
                return phase(st, "prod") == "WaitingApproval"

            await eventually(prod_waits)
            _, st = await pipeline_status(kube)
            assert st.environments["staging"].revision == "6.1.0"
            assert st.environments["prod"].waiting_approval is not None
            assert st.environments["prod"].waiting_approval.revision == "6.1.0"
            await approve(kube, "alice", "6.1.0")

            async def prod_succeeded() -> bool:
                _, st = await pipeline_status(kube)
                return phase(st, "prod") == "Succeeded"

            await eventually(prod_succeeded)
    finally:
        await controller.stop()
    exposition = prometheus_client.generate_latest(controller.manager.metrics.registry).decode()
    assert 'ferryman_promotions_total{result="succeeded",strategy="notification"} 2.0' in exposition
    assert 'ferryman_api_writes_total{verb="update_status"}' in exposition
    obj, st = await pipeline_status(kube)
    assert st.environments["prod"].revision == "6.1.0"
    assert st.history[0].environment == "prod"
    assert st.history[0].by == "alice"
    assert await promote_events(kube) == {("staging", "6.1.0"): 1, ("prod", "6.1.0"): 1}

    # A restart on converged state: no status write, no Event.
    events_before = len(await kube.list("events.k8s.io/v1", "Event", "default"))
    restarted = controller_for(apiserver, "second")
    await restarted.start()
    await asyncio.sleep(1.5)
    await restarted.stop()
    again, _ = await pipeline_status(kube)
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    assert len(await kube.list("events.k8s.io/v1", "Event", "default")) == events_before
    assert restarted.reconciler.counters.status_writes == 0
    await kube.close()


async def test_controller_relists_after_compaction_and_dropped_watches(
    apiserver: api_server.EmbeddedApiServer,
) -> None:
    """410 and dropped streams: the informers relist and the pipeline still converges."""
    kube = Kube(apiserver.kubeconfig_path)
    await env.prepare(kube)
    for namespace in ("dev", "staging", "prod"):
        await env.deploy(kube, namespace, "6.0.0")
    obj = env.pipeline_object(api_version=env.HELM)
    obj["spec"]["environments"][2]["promotion"].pop("approval")
    await kube.create(obj)
    controller = controller_for(apiserver, "relist")
    await controller.start()
    try:
        async with env.running_flux(kube):
            apiserver.compact_and_drop_watches()
            await env.deploy(kube, "dev", "7.0.0")

            async def prod_runs() -> bool:
                _, st = await pipeline_status(kube)
                return st.environments.get("prod") is not None and (
                    st.environments["prod"].revision == "7.0.0"
                )

            await eventually(prod_runs)
    finally:
        await controller.stop()
    assert await promote_events(kube) == {("staging", "7.0.0"): 1, ("prod", "7.0.0"): 1}
    await kube.close()
