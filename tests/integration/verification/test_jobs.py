"""``job`` checks against the embedded API server (it serves batch/v1 Jobs with ``/status``;
nothing runs Pods, so the tests write a Job's status as the Job controller would).

The adapter creates and adopts Jobs on the local cluster and on a remote one through a
GitopsCluster, and names the missing permission on a 403; a whole controller verifies staging
with a Job and promotes prod only once the test marked it ``Complete``.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.controller import conftest as env
from tests.integration.controller.test_clusters import set_cluster_ready
from tests.integration.controller.test_story import eventually, phase, pipeline_status
from tests.integration.kube import Kube
from tests.unit.domain import builders as b

from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import clusters, jobs
from ferryman.bootstrap import process
from ferryman.controller.checks import jobs as job_checks
from ferryman.domain import actions, errors
from ferryman.embedded.apiserver import kubeconfig as kubeconfig_writer
from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing
from ferryman.ports import kubernetes as k8s
from ferryman.settings import Settings

JOBS = "batch/v1"
ACTION = actions.Check("staging", "6.2.0", 1, "smoke-test", "job", actions.START)


async def job_status(kube: Kube, namespace: str, name: str, *conditions: str) -> None:
    """Play the Job controller: the Job finished with these conditions True."""
    obj = await kube.get(JOBS, "Job", namespace, name)
    obj["status"] = {
        "conditions": [
            {
                "type": kind,
                "status": "True",
                "reason": "CompletionsReached"
                if kind in job_checks.PASSED
                else "BackoffLimitExceeded",
                "message": ""
                if kind in job_checks.PASSED
                else "Job has reached the specified backoff limit",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "lastProbeTime": "2026-01-01T00:00:00Z",
            }
            for kind in conditions
        ],
        "startTime": "2026-01-01T00:00:00Z",
        **(
            {"completionTime": "2026-01-01T00:00:05Z", "succeeded": 1}
            if "Complete" in conditions
            else {"failed": 1}
        ),
    }
    await kube.put_status(obj)


@contextlib.asynccontextmanager
async def runner_for(
    server: api_server.EmbeddedApiServer,
) -> AsyncIterator[jobs.LightkubeJobRunner]:
    """A runner over ``server`` (and the remote clusters its GitopsClusters name), closed after."""
    local = cluster_adapter.LightkubeCluster.connect("", path=str(server.kubeconfig_path))
    directory = clusters.GitopsClusterDirectory(local)
    try:
        yield jobs.LightkubeJobRunner(directory)
    finally:
        await directory.close()


async def test_jobs_are_created_once_adopted_read_and_judged(tmp_path: Path) -> None:
    """The API server validates and stores the Job; a second create adopts it; the conditions
    the Job controller writes decide the check; a deleted Job is gone."""
    subject = b.make("dev", b.environment("staging", verify=[b.job()]), promotion=b.notified())
    spec = b.job().job
    assert spec is not None
    place = k8s.JobPlace("staging")
    manifest = job_checks.manifest(subject, ACTION, spec, "staging")
    name = manifest["metadata"]["name"]
    with testing.serve(tmp_path / "api") as server:
        kube = Kube(server.kubeconfig_path)
        await env.prepare(kube, ("staging",))
        async with runner_for(server) as runner:
            made, created = await runner.create(place, manifest)
            assert created and made["spec"]["ttlSecondsAfterFinished"] == 3600
            assert made["spec"]["template"]["spec"]["containers"][0]["name"] == "smoke"
            again, created = await runner.create(place, manifest)
            assert not created and again["metadata"]["uid"] == made["metadata"]["uid"]
            assert job_checks.judge(name, [(place, await runner.get(place, name))]).passed is None
            await job_status(kube, "staging", name, "SuccessCriteriaMet", "Complete")
            assert job_checks.judge(name, [(place, await runner.get(place, name))]).passed is True
            await kube.request("DELETE", f"/apis/batch/v1/namespaces/staging/jobs/{name}")
            assert await runner.get(place, name) is None
        await kube.close()


async def test_remote_jobs_and_the_permission_a_job_check_needs(tmp_path: Path) -> None:
    """A Job on a remote cluster through its GitopsCluster; an identity without ``create`` on
    jobs there is refused with a sentence naming the namespace and the install guide."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('robot-token,robot,u-robot,"robots"\n')
    with testing.serve_many(tmp_path, 2, token_file=tokens) as (management, remote):
        kube, far = Kube(management.kubeconfig_path), Kube(remote.kubeconfig_path)
        await env.prepare(kube, ("default", "flux-system"))
        await env.prepare(far, ("prod",))
        admin = base64.b64encode(Path(remote.kubeconfig_path).read_bytes()).decode()
        robot_config = kubeconfig_writer.write(
            tmp_path / "robot.kubeconfig",
            remote.url,
            "robot-token",
            ca_pem=remote.cert_path.read_bytes() if remote.cert_path else None,
        )
        robot = base64.b64encode(robot_config.read_bytes()).decode()
        for name, config in (("prod", admin), ("prod-robot", robot)):
            await kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": name, "namespace": "flux-system"},
                    "data": {"kubeconfig": config},
                }
            )
            await kube.create(
                {
                    "apiVersion": "gitops.weave.works/v1alpha1",
                    "kind": "GitopsCluster",
                    "metadata": {"name": name, "namespace": "flux-system"},
                    "spec": {"secretRef": {"name": name}},
                }
            )
        await set_cluster_ready(kube, True)
        robot_cluster = await kube.get(
            "gitops.weave.works/v1alpha1", "GitopsCluster", "flux-system", "prod-robot"
        )
        robot_cluster["status"] = (
            await kube.get("gitops.weave.works/v1alpha1", "GitopsCluster", "flux-system", "prod")
        )["status"]
        await kube.put_status(robot_cluster)
        subject = b.make("dev", b.environment("prod", cluster="prod"), promotion=b.notified())
        spec = b.job().job
        assert spec is not None
        manifest = job_checks.manifest(subject, ACTION, spec, "prod")
        async with runner_for(management) as runner:
            place = k8s.JobPlace("prod", ("flux-system", "prod"))
            made, created = await runner.create(place, manifest)
            assert created
            stored = await far.get(JOBS, "Job", "prod", manifest["metadata"]["name"])
            assert stored["metadata"]["uid"] == made["metadata"]["uid"]
            with pytest.raises(errors.PermanentError) as refused:
                await runner.create(k8s.JobPlace("prod", ("flux-system", "prod-robot")), manifest)
            assert str(refused.value) == (
                'the controller may not create jobs.batch in namespace "prod" on GitopsCluster '
                '"flux-system/prod-robot" (docs/install.md lists the RBAC a job check needs)'
            )
            gone = k8s.JobPlace("prod", ("flux-system", "nowhere"))
            with pytest.raises(errors.TemporaryError, match="not found"):
                await runner.get(gone, "x")
        await kube.close()
        await far.close()


async def test_the_controller_promotes_prod_only_after_stagings_job_succeeded(
    apiserver: api_server.EmbeddedApiServer,
) -> None:
    """A real controller: staging runs 6.1.0 and its Job appears in staging; prod waits while
    the Job runs and asks for approval once the test marked the Job Complete."""
    kube = Kube(apiserver.kubeconfig_path)
    await env.prepare(kube)
    for namespace in ("dev", "staging", "prod"):
        await env.deploy(kube, namespace, "6.0.0")
    obj: dict[str, Any] = env.pipeline_object(api_version=env.HELM)
    obj["spec"]["environments"][1]["verification"] = {
        "checks": [{"name": "smoke-test", "job": {"template": b.JOB_TEMPLATE}}]
    }
    await kube.create(obj)
    settings = Settings(kubeconfig=str(apiserver.kubeconfig_path), workers=2, identity="jobs")
    controller = process.build_controller(settings)
    await controller.start()

    async def job_of(revision: str) -> str:
        async def found() -> str:
            for job in await kube.list(JOBS, "Job", "staging"):
                notes = job["metadata"].get("annotations") or {}
                if notes.get("pipelines.weave.works/revision") == revision:
                    return str(job["metadata"]["name"])
            return ""

        return str(await eventually(found))

    async def prod_waits() -> bool:
        _, st = await pipeline_status(kube)
        return phase(st, "prod") == "WaitingApproval"

    try:
        async with env.running_flux(kube):
            await job_of("6.0.0")  # what staging ran at the start is verified too
            await env.deploy(kube, "dev", "6.1.0")
            created = await job_of("6.1.0")
            _, st = await pipeline_status(kube)
            assert phase(st, "prod") in (None, "Pending")
            await job_status(kube, "staging", created, "SuccessCriteriaMet", "Complete")
            await eventually(prod_waits)
    finally:
        await controller.stop()
    _, st = await pipeline_status(kube)
    found = st.environments["staging"].verification
    assert found is not None and (found.revision, found.phase.value) == ("6.1.0", "Passed")
    job = await kube.get(JOBS, "Job", "staging", created)
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert len(await kube.list(JOBS, "Job", "staging")) == 2
    await kube.close()


ROOT = Path(__file__).resolve().parents[3]


async def test_the_documented_rbac_is_what_a_job_check_needs(tmp_path: Path) -> None:
    """config/samples/rbac/job-check.yaml, applied in one namespace, lets the controller's
    service account create and read Jobs there, and nowhere else."""
    with testing.serve(tmp_path / "api") as server:
        kube = Kube(server.kubeconfig_path)
        await env.prepare(kube, ("ferryman-system", "checkout-staging", "checkout"))
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "ferryman-controller", "namespace": "ferryman-system"},
            }
        )
        await kube.apply_file(ROOT / "config" / "samples" / "rbac" / "job-check.yaml")
        issued = await kube.request(
            "POST",
            "/api/v1/namespaces/ferryman-system/serviceaccounts/ferryman-controller/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )
        config = kubeconfig_writer.write(
            tmp_path / "controller.kubeconfig",
            server.url,
            issued["status"]["token"],
            ca_pem=server.cert_path.read_bytes() if server.cert_path else None,
        )
        local = cluster_adapter.LightkubeCluster.connect("", path=str(config))
        directory = clusters.GitopsClusterDirectory(local)
        runner = jobs.LightkubeJobRunner(directory)
        subject = b.make("dev", "staging", promotion=b.notified())
        spec = b.job().job
        assert spec is not None
        try:
            allowed = job_checks.manifest(subject, ACTION, spec, "checkout-staging")
            _, created = await runner.create(k8s.JobPlace("checkout-staging"), allowed)
            assert created
            name = allowed["metadata"]["name"]
            assert await runner.get(k8s.JobPlace("checkout-staging"), name) is not None
            elsewhere = job_checks.manifest(subject, ACTION, spec, "checkout")
            with pytest.raises(errors.PermanentError, match=r"may not create jobs\.batch"):
                await runner.create(k8s.JobPlace("checkout"), elsewhere)
        finally:
            await directory.close()
            await kube.close()
