"""Remote targets through GitopsClusters, and two controllers with leader election."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.integration.controller import conftest as env
from tests.integration.controller.test_story import (
    eventually,
    phase,
    pipeline_status,
    promote_events,
)
from tests.integration.kube import Kube

from ferryman.bootstrap import process
from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing
from ferryman.settings import Settings


async def set_cluster_ready(kube: Kube, ready: bool) -> None:
    """Play cluster-controller: flip the GitopsCluster's Ready condition."""
    obj = await kube.get("gitops.weave.works/v1alpha1", "GitopsCluster", "flux-system", "prod")
    obj["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "Ready" if ready else "ClusterNotReady",
                "message": "cluster is ready" if ready else "control plane unreachable",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    await kube.put_status(obj)


async def test_remote_target_through_a_gitopscluster_and_its_secret(tmp_path: Path) -> None:
    """prod lives on a second API server reached through a GitopsCluster's kubeconfig Secret;
    while the cluster is not Ready its target reports an error, then promotion resumes."""
    with testing.serve_many(tmp_path, 2) as (management, remote):
        kube = Kube(management.kubeconfig_path)
        far = Kube(remote.kubeconfig_path)
        await env.prepare(kube, ("dev", "staging", "flux-system"))
        await env.prepare(far, ("prod",))
        for namespace in ("dev", "staging"):
            await env.deploy(kube, namespace, "1.0.0")
        await env.deploy(far, "prod", "1.0.0")
        kubeconfig = base64.b64encode(Path(remote.kubeconfig_path).read_bytes()).decode()
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "prod-kubeconfig", "namespace": "flux-system"},
                "data": {"kubeconfig": kubeconfig},
            }
        )
        await kube.create(
            {
                "apiVersion": "gitops.weave.works/v1alpha1",
                "kind": "GitopsCluster",
                "metadata": {"name": "prod", "namespace": "flux-system"},
                "spec": {"secretRef": {"name": "prod-kubeconfig"}},
            }
        )
        await set_cluster_ready(kube, False)
        spec: dict[str, Any] = env.pipeline_object(api_version=env.HELM)
        prod = spec["spec"]["environments"][2]
        prod["promotion"].pop("approval")
        prod["targets"] = [
            {
                "namespace": "prod",
                "clusterRef": {"kind": "GitopsCluster", "name": "prod", "namespace": "flux-system"},
            }
        ]
        await kube.create(spec)
        settings = Settings(kubeconfig=str(management.kubeconfig_path), workers=2, identity="c")
        controller = process.build_controller(settings)
        await controller.start()
        try:

            async def prod_unreachable() -> bool:
                _, st = await pipeline_status(kube)
                target = st.environments.get("prod")
                ready = st.condition("Ready")
                return (
                    target is not None
                    and "not ready" in target.targets[0].error
                    and target.targets[0].reason == "TargetClusterNotReady"
                    and ready is not None
                    and ready.reason == "TargetClusterNotReady"
                )

            await eventually(prod_unreachable)
            await set_cluster_ready(kube, True)

            async def prod_seen() -> bool:
                _, st = await pipeline_status(kube)
                return st.environments["prod"].revision == "1.0.0"

            await eventually(prod_seen)
            applied: set[str] = set()
            await env.deploy(kube, "dev", "1.1.0")

            async def apply_promotions() -> bool:
                for event in await kube.list("events.k8s.io/v1", "Event", "default"):
                    name = event["metadata"]["name"]
                    if event.get("reason") == "Promote" and name not in applied:
                        applied.add(name)
                        notes = event["metadata"]["annotations"]
                        target = far if notes["environment"] == "prod" else kube
                        await env.deploy(target, notes["environment"], notes["version"])
                _, st = await pipeline_status(kube)
                return phase(st, "prod") == "Succeeded"

            await eventually(apply_promotions)
        finally:
            await controller.stop()
        assert await promote_events(kube) == {("staging", "1.1.0"): 1, ("prod", "1.1.0"): 1}
        await kube.close()
        await far.close()


async def test_only_the_leader_acts_and_a_successor_takes_over(
    apiserver: api_server.EmbeddedApiServer,
) -> None:
    """Two controllers elect one leader; when it dies without releasing the lease the other
    takes over after the lease expires, and nothing is promoted twice."""
    kube = Kube(apiserver.kubeconfig_path)
    await env.prepare(kube, ("dev", "staging", "prod", "ferryman-system"))
    for namespace in ("dev", "staging", "prod"):
        await env.deploy(kube, namespace, "2.0.0")
    spec = env.pipeline_object(api_version=env.HELM)
    spec["spec"]["environments"][2]["promotion"].pop("approval")
    await kube.create(spec)

    def build(identity: str) -> process.Controller:
        settings = Settings(
            kubeconfig=str(apiserver.kubeconfig_path),
            workers=2,
            identity=identity,
            leader_elect=True,
            lease_duration=3.0,
            renew_deadline=2.0,
            retry_period=0.3,
            step_timeout=1.0,
        )
        return process.build_controller(settings)

    first, second = build("first"), build("second")
    await first.start()
    await eventually(
        lambda: _true(first.manager.elector is not None and first.manager.elector.is_leader)
    )
    await second.start()
    async with env.running_flux(kube):
        await env.deploy(kube, "dev", "2.1.0")

        async def staging_runs() -> bool:
            _, st = await pipeline_status(kube)
            return st.environments["staging"].revision == "2.1.0"

        await eventually(staging_runs)
        assert second.reconciler.counters.passes == 0
        # The leader dies: its tasks stop, the lease is NOT released.
        await first.manager.stop(release=False)
        await env.deploy(kube, "dev", "2.2.0")

        async def prod_runs() -> bool:
            _, st = await pipeline_status(kube)
            return st.environments["prod"].revision == "2.2.0"

        await eventually(prod_runs, timeout=40)
    assert second.manager.elector is not None and second.manager.elector.is_leader
    await second.stop()
    await first.directory.close()
    counts = await promote_events(kube)
    assert all(count == 1 for count in counts.values()), counts
    assert ("prod", "2.2.0") in counts
    await kube.close()


async def _true(value: bool) -> bool:
    return value
