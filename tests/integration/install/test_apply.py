"""The install against the embedded API server: server-side dry-run, and the controller running
with exactly the permissions the manifests grant its service account.
"""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tests.integration.controller import conftest as env
from tests.integration.install.conftest import (
    NAMESPACE,
    ROOT,
    SERVICE_ACCOUNT,
    Rendered,
    run_kubectl,
)
from tests.integration.install.rbac_store import ManifestRBAC, authorizer
from tests.integration.kube import Kube

from ferryman.bootstrap import process
from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing
from ferryman.settings import Settings


def test_manifests_apply_with_server_side_dry_run(
    rendered: Rendered, apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """``kubectl apply --dry-run=server`` accepts every object once the namespace exists.

    As on a real cluster, namespaced objects need their namespace to exist even in a dry run, so
    the Namespace is applied first (the first step of an install). No kind is skipped: the
    Deployment and the Service are validated too.
    """
    cache = tmp_path / "kube-cache"
    namespace = yaml.safe_dump(rendered.one("Namespace", NAMESPACE))
    created = run_kubectl(apiserver, cache, "apply", "-f", "-", stdin=namespace)
    assert created.returncode == 0, created.stderr
    result = run_kubectl(
        apiserver,
        cache,
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        stdin=yaml.safe_dump_all(rendered.objects),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(rendered.objects)
    assert all(line.endswith("(server dry run)") for line in lines), result.stdout
    # A dry run stores nothing: the CRD is still unknown to the server.
    listing = run_kubectl(apiserver, cache, "get", "crd", "-o", "name")
    assert "pipelines.pipelines.weave.works" not in listing.stdout


def test_apply_k_config_default_creates_everything(
    rendered: Rendered, apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """``kubectl apply -k config/default`` creates every object; applying again changes nothing."""
    cache = tmp_path / "kube-cache"
    default = str(ROOT / "config" / "default")
    first = run_kubectl(apiserver, cache, "apply", "-k", default)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(" created") == len(rendered.objects), first.stdout
    again = run_kubectl(apiserver, cache, "apply", "-k", default)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" unchanged") == len(rendered.objects), again.stdout
    deployment = json.loads(
        run_kubectl(
            apiserver,
            cache,
            "get",
            "deployment",
            "ferryman-controller",
            "-n",
            NAMESPACE,
            "-o",
            "json",
        ).stdout
    )
    # Stored as a cluster stores it: defaulted, generation 1, nothing running it.
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["metadata"]["generation"] == 1
    assert "status" not in deployment or not deployment["status"].get("readyReplicas")
    service = json.loads(
        run_kubectl(
            apiserver, cache, "get", "service", "ferryman", "-n", NAMESPACE, "-o", "json"
        ).stdout
    )
    assert service["spec"]["clusterIP"].startswith("10.9")


def _token_file(path: Path, token: str) -> Path:
    user = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    groups = f"system:serviceaccounts,system:serviceaccounts:{NAMESPACE}"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow([token, user, "uid-controller", groups])
    return path


async def _eventually(check: Callable[[], Any], *, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_controller_converges_with_only_the_granted_permissions(
    rendered: Rendered, tmp_path: Path
) -> None:
    """As its service account, under the manifests' RBAC, the controller elects itself leader
    and promotes dev → staging → prod without a single request being denied."""
    token = "controller-token-0123456789"
    denied: list[str] = []
    with testing.serve(tmp_path / "api", token_file=_token_file(tmp_path / "tokens", token)) as (
        server
    ):
        server.app.authorizer = authorizer(ManifestRBAC(rendered.objects), denied)
        kube = Kube(server.kubeconfig_path)
        await env.prepare(kube, ("dev", "staging", "prod", NAMESPACE))
        for namespace in ("dev", "staging", "prod"):
            await env.deploy(kube, namespace, "6.0.0")
        pipeline = env.pipeline_object(api_version=env.HELM)
        pipeline["spec"]["environments"][2]["promotion"].pop("approval")
        await kube.create(pipeline)
        document = yaml.safe_load(server.kubeconfig_path.read_text(encoding="utf-8"))
        document["users"][0]["user"]["token"] = token
        settings = Settings(
            leader_elect=True, lease_namespace=NAMESPACE, identity="install-test", workers=2
        )
        controller = process.build_controller(settings, kubeconfig=document)
        await controller.start()
        try:
            async with env.running_flux(kube):
                await env.deploy(kube, "dev", "7.0.0")

                async def prod_runs_it() -> bool:
                    obj = await kube.get(
                        "pipelines.weave.works/v1alpha1", "Pipeline", "default", "podinfo"
                    )
                    prod = (obj.get("status") or {}).get("environments", {}).get("prod", {})
                    return bool(prod.get("revision") == "7.0.0")

                await _eventually(prod_runs_it)
        finally:
            await controller.stop()
            await kube.close()
    assert denied == []
    assert controller.reconciler.counters.status_writes > 0
    assert controller.reconciler.counters.events > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback child
        body: bytes = response.read()
        return body.decode()


def test_deployment_command_line_serves_probes_and_leads(
    rendered: Rendered, apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """``ferryman controller`` with the Deployment's args (addresses moved to free loopback
    ports) answers its probes and metrics on the health port and takes the Lease."""
    cache = tmp_path / "kube-cache"
    first = [rendered.one("Namespace", NAMESPACE)]
    first += rendered.of_kind("CustomResourceDefinition")
    applied = run_kubectl(apiserver, cache, "apply", "-f", "-", stdin=yaml.safe_dump_all(first))
    assert applied.returncode == 0, applied.stderr
    deployment = rendered.one("Deployment", "ferryman-controller")
    args = list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    ports: dict[str, int] = {}
    for i, arg in enumerate(args):
        flag, _, value = arg.partition("=")
        if flag.endswith("-addr") and value.startswith(":"):
            ports[flag] = _free_port()
            args[i] = f"{flag}=127.0.0.1:{ports[flag]}"
    assert set(ports) == {"--http-addr", "--health-addr"}
    command = [sys.executable, "-m", "ferryman", "controller", *args]
    command += ["--kubeconfig", str(apiserver.kubeconfig_path)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    health = f"http://127.0.0.1:{ports['--health-addr']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(health + "/readyz") == "ok"
                break
            except OSError:
                assert child.poll() is None, "ferryman controller exited"
                assert time.monotonic() < deadline, "ferryman controller never became ready"
                time.sleep(0.1)
        assert _get(health + "/healthz") == "ok"
        assert "ferryman_reconcile_duration_seconds" in _get(health + "/metrics/")
        while (
            "ferryman-controller"
            not in run_kubectl(
                apiserver, cache, "get", "leases", "-n", NAMESPACE, "-o", "name"
            ).stdout
        ):
            assert time.monotonic() < deadline, "the controller never took the Lease"
            time.sleep(0.2)
    finally:
        # The image's STOPSIGNAL (see the Dockerfile): what the kubelet sends on pod deletion.
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    lease = run_kubectl(
        apiserver, cache, "get", "lease", "ferryman-controller", "-n", NAMESPACE, "-o", "json"
    )
    assert not json.loads(lease.stdout)["spec"].get("holderIdentity"), "the Lease was kept"
