"""Ferryman's HTTP server exactly as ``ferryman controller`` composes it, against an embedded API.

``replica`` builds a controller with ``bootstrap.process.build_controller`` and starts its
informers with a reconcile that does nothing (the server reads Pipelines from the informers; no
status is written, no leader election), then serves ``bootstrap.process.server_config`` with
uvicorn on a free loopback port: the real adapters, the real limits, the real UI. Two
``replica``s over one API server are two replicas of a Deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from ferryman.bootstrap import process
from ferryman.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"
AT = "2026-11-28T16:00:00Z"
API_VERSION = "pipelines.weave.works/v1alpha1"


@contextlib.asynccontextmanager
async def replica(kubeconfig: Path, **settings: Any) -> AsyncIterator[str]:
    """One server replica; yields its base URL (``http://127.0.0.1:<port>``)."""
    chosen = Settings(kubeconfig=str(kubeconfig), http_addr="127.0.0.1:0", **settings)
    controller = process.build_controller(chosen)
    await controller.manager.start(observe_only)
    server = uvicorn.Server(process.server_config(chosen, controller))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn offers no started event; it starts within milliseconds
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await controller.stop()


async def observe_only(namespace: str, name: str) -> None:
    """A reconcile that leaves every Pipeline as it is."""
    del namespace, name


def waiting_pipeline(*, name: str = "podinfo", comment: str = "") -> dict[str, Any]:
    """A Pipeline whose prod waits for one approval of 6.2.0 from release-managers."""
    approvals = [{"user": "carol", "at": AT, "comment": comment}] if comment else []
    ref = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "podinfo"}
    return {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "appRef": ref,
            "promotion": {"strategy": {"notification": {}}},
            "environments": [
                {"name": "staging", "targets": [{"namespace": "staging"}]},
                {
                    "name": "prod",
                    "targets": [{"namespace": "prod"}],
                    "promotion": {
                        "approval": {"required": 2, "approvers": {"groups": ["release-managers"]}}
                    },
                },
            ],
        },
        "status": {
            "observedGeneration": 1,
            "environments": {
                "staging": {"revision": "6.2.0", "ready": True, "targets": []},
                "prod": {
                    "revision": "6.1.0",
                    "ready": True,
                    "targets": [],
                    "waitingApproval": {"revision": "6.2.0"},
                    "promotion": {
                        "revision": "6.2.0",
                        "from": "staging",
                        "phase": "WaitingApproval",
                        "requestedAt": AT,
                        "approvals": approvals,
                    },
                },
            },
        },
    }


def token_file(path: Path, users: dict[str, tuple[str, str]]) -> Path:
    """A kube-apiserver token file: ``{user: (token, "group1,group2")}``."""
    rows = [f'{token},{user},{user},"{groups}"' for user, (token, groups) in users.items()]
    path.write_text("\n".join(rows) + "\n")
    return path


APPROVER_RBAC: list[dict[str, Any]] = list(
    yaml.safe_load_all(
        textwrap.dedent(
            """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: pipeline-approver}
        rules:
          - apiGroups: [pipelines.weave.works]
            resources: [pipelines]
            verbs: [get, list, watch, approve, reject]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: pipeline-approvers}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pipeline-approver}
        subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: release-managers}]
        """
        )
    )
)
