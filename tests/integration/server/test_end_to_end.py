"""The server with its real adapters against the embedded API server, and the CLI as a subprocess.

TokenReview and SubjectAccessReview are answered by the embedded API from a token file and RBAC
objects, status is written through lightkube with resourceVersion preconditions, and the
``ferryman`` command runs as a child process with per-user kubeconfigs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from tests.fakes import auth as fakes_auth
from tests.fakes import sessions as fakes_sessions
from tests.integration.kube import Kube
from tests.unit.server import harness

from ferryman.adapters import clock as clock_adapter
from ferryman.adapters.kubernetes import auth as auth_adapter
from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import events, pipelines, secrets
from ferryman.domain import signatures
from ferryman.embedded.apiserver import auth as api_auth
from ferryman.embedded.apiserver import testing
from ferryman.server import app as server_app
from ferryman.server import deps as server_deps

ROOT = Path(__file__).resolve().parents[3]
CRD = ROOT / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"


async def arrange(kube: Kube) -> None:
    """CRD, RBAC for release-managers, the webhook Secret, and prod waiting for 6.1.0."""
    await kube.apply_file(CRD)
    rules = [
        {
            "apiGroups": ["pipelines.weave.works"],
            "resources": ["pipelines"],
            "verbs": ["get", "list", "approve", "reject"],
        }
    ]
    await kube.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "pipeline-approver"},
            "rules": rules,
        }
    )
    await kube.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "release-managers"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "pipeline-approver",
            },
            "subjects": [
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Group",
                    "name": "release-managers",
                }
            ],
        }
    )
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "webhook", "namespace": "default"},
            "data": {"hmac-key": base64.b64encode(harness.KEY).decode()},
        }
    )
    h = harness.Harness()
    await h.waiting()
    obj = h.world.pipeline()
    status = obj.pop("status")
    for key in ("uid", "resourceVersion", "generation"):
        obj["metadata"].pop(key, None)
    created = await kube.create(obj)
    created["status"] = status
    await kube.put_status(created)


def authorizer(attributes: api_auth.Attributes) -> tuple[bool, str]:
    """RBAC as the ClusterRoleBinding above would decide it (the embedded server's default
    authorizer admits every authenticated user, so the test states the policy explicitly)."""
    user = attributes.user
    if "system:masters" in user.groups:
        return True, ""
    if attributes.resource == "pipelines" and attributes.verb in {"get", "list", "watch"}:
        return True, ""
    if attributes.resource == "pipelines" and "release-managers" in user.groups:
        return True, "allowed by ClusterRoleBinding release-managers"
    return False, ""


def kubeconfig_for(admin: Path, token: str, target: Path) -> Path:
    """A copy of the admin kubeconfig that authenticates with ``token``."""
    config = yaml.safe_load(admin.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    target.write_text(yaml.safe_dump(config))
    return target


@contextlib.asynccontextmanager
async def ferryman_server(kubeconfig: Path) -> AsyncIterator[tuple[str, fakes_auth.FakeTrigger]]:
    """The app over the lightkube adapters, served by uvicorn on a free loopback port."""
    local = cluster_adapter.LightkubeCluster.connect("", path=str(kubeconfig))
    trigger = fakes_auth.FakeTrigger()
    deps = server_deps.Deps(
        store=pipelines.LightkubePipelineStore(local.client),
        cluster=local,
        secrets=secrets.LightkubeSecretReader(local.client),
        events=events.LightkubeEventSink(local.client, instance="test"),
        authenticator=auth_adapter.LightkubeAuthenticator(local.client),
        reviewer=auth_adapter.LightkubeAccessReviewer(local.client),
        trigger=trigger,
        clock=clock_adapter.SystemClock(),
        sessions=fakes_sessions.FakeSessions(),
    )
    config = uvicorn.Config(
        server_app.create_app(deps), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn offers no started event; it starts within milliseconds
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", trigger
    finally:
        server.should_exit = True
        await task
        await local.close()


async def ferryman(*args: str) -> tuple[int, str, str]:
    """Run the CLI as a child process; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ferryman",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_and_api_against_the_embedded_api_server(tmp_path: Path) -> None:
    """Reads, a denied and an allowed approval, and a signed event, end to end."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('alice-tok,alice,u-alice,"release-managers"\neve-tok,eve,u-eve,""\n')
    with testing.serve(tmp_path / "api", token_file=tokens) as api:
        api.app.authorizer = authorizer
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube)
            alice = kubeconfig_for(api.kubeconfig_path, "alice-tok", tmp_path / "alice")
            eve = kubeconfig_for(api.kubeconfig_path, "eve-tok", tmp_path / "eve")
            async with ferryman_server(api.kubeconfig_path) as (url, trigger):
                code, out, err = await ferryman("get", "pipelines", "--kubeconfig", str(alice))
                assert code == 0, err
                assert "6.0.0 (6.1.0 waiting for approval)" in out

                approve = ["approve", "podinfo", "--env", "prod", "--server", url]
                code, out, err = await ferryman(*approve, "--kubeconfig", str(eve))
                assert code == 1 and "Traceback" not in err
                assert 'may not approve pipelines.pipelines.weave.works "podinfo"' in err

                code, out, err = await ferryman(
                    *approve, "--comment", "ship it", "--kubeconfig", str(alice)
                )
                assert code == 0, err
                stored: dict[str, Any] = await kube.get(
                    "pipelines.weave.works/v1alpha1", "Pipeline", "default", "podinfo"
                )
                approvals = stored["status"]["environments"]["prod"]["promotion"]["approvals"]
                assert [(a["user"], a["comment"]) for a in approvals] == [("alice", "ship it")]
                assert trigger.enqueued == [("default", "podinfo")]

                event = harness.flux_event()
                async with httpx.AsyncClient(base_url=url) as http:
                    signed = await http.post(
                        "/promotion/default/podinfo/dev",
                        content=event,
                        headers={"X-Signature": signatures.sign(harness.KEY, event)},
                    )
                    unsigned = await http.post("/promotion/default/podinfo/dev", content=event)
                assert (signed.status_code, unsigned.status_code) == (202, 401)
                assert trigger.enqueued[-1] == ("default", "podinfo")

                code, out, err = await ferryman("version")
                assert code == 0 and out.startswith("ferryman ")
                code, out, err = await ferryman(
                    "why", "podinfo", "--kubeconfig", str(tmp_path / "none")
                )
                assert code == 1 and err.startswith("Error: cannot read ")
        finally:
            await kube.close()
