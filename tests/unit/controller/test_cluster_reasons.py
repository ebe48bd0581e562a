"""A target on a missing or not-Ready GitopsCluster: the original controller's condition reasons.

The original (default) pipeline-controller set ``Ready=False`` with reason
``TargetClusterNotFound`` or ``TargetClusterNotReady`` (weaveworks/pipeline-controller
``controllers/pipeline_controller.go``); dashboards and WGE key on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes
from tests.unit.controller import story

from ferryman.api import conditions, pipeline, status
from ferryman.controller import reconciler, targets
from ferryman.controller.strategies import notification


@pytest.mark.parametrize(
    ("cluster_ready", "reason"),
    [
        (None, conditions.TARGET_CLUSTER_NOT_FOUND),
        (False, conditions.TARGET_CLUSTER_NOT_READY),
    ],
    ids=["GitopsCluster missing", "GitopsCluster not Ready"],
)
async def test_cluster_problems_carry_the_original_reasons(
    cluster_ready: bool | None, reason: str
) -> None:
    """The target's status and the Pipeline's Ready condition name the original's reason."""
    api = fakes.FakeKubernetes()
    clock = fake_clock.FakeClock()
    obj = story.pipeline_object()
    obj["spec"]["environments"][2]["targets"] = [
        {
            "namespace": "prod",
            "clusterRef": {"kind": "GitopsCluster", "name": "eu", "namespace": "fleet"},
        }
    ]
    api.put(obj)
    if cluster_ready is not None:
        api.put(
            {
                "apiVersion": "gitops.weave.works/v1alpha1",
                "kind": "GitopsCluster",
                "metadata": {"name": "eu", "namespace": "fleet"},
                "status": {"conditions": [{"type": "Ready", "status": "False"}]},
            }
        )
    for env in ("dev", "staging"):
        api.put(story.helm_release(env, "6.0.0"))
    tasks: list[asyncio.Task[None]] = []

    def spawn(coroutine: Coroutine[Any, Any, None]) -> None:
        tasks.append(asyncio.ensure_future(coroutine))

    caches = targets.AppCaches(api, enqueue=lambda key: None, spawn=spawn)
    rec = reconciler.Reconciler(
        store=api.store,
        targets=caches,
        events=api,
        strategies={"notification": notification.NotificationStrategy(api)},
        clock=clock,
        owner="a",
    )
    try:
        await rec.reconcile(story.NS, story.NAME)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    stored = api.objects[(pipeline.API_VERSION, pipeline.KIND, story.NS, story.NAME)]
    st = status.PipelineStatus.model_validate(stored["status"])
    assert st.environments["prod"].targets[0].reason == reason
    ready = st.condition(conditions.READY)
    assert ready is not None and (ready.status, ready.reason) == ("False", reason)
