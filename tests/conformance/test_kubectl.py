"""The real kubectl 1.32 against the embedded API server: apply, get, patch, watch, diff, delete."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from .conftest import FIXTURES, REPO, Kubectl

PIPELINE_CRD = FIXTURES / "crds" / "original-pipelines.weave.works_pipelines.yaml"
HELMRELEASE_CRD = FIXTURES / "crds" / "helm.toolkit.fluxcd.io_helmreleases.yaml"
GENERATED_CRD = REPO / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"

PIPELINE = """
apiVersion: pipelines.weave.works/v1alpha1
kind: Pipeline
metadata:
  name: web
  namespace: default
spec:
  appRef:
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    name: web
  environments:
  - name: dev
    targets:
    - namespace: dev
"""
READY = (
    '{"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True",'
    '"reason":"Synced","message":"all good","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}'
)


def _apply_basics(k: Kubectl, tmp_path: Path, crd: Path = PIPELINE_CRD) -> Path:
    k.run("apply", "-f", str(crd))
    k.run("apply", "-f", str(HELMRELEASE_CRD))
    manifest = tmp_path / "pipeline.yaml"
    manifest.write_text(PIPELINE, encoding="utf-8")
    out = k.run("apply", "-f", str(manifest)).stdout
    assert "pipeline.pipelines.weave.works/web created" in out
    return manifest


def test_apply_get_patch_status_and_jsonpath(kubectl: Kubectl, tmp_path: Path) -> None:
    """apply (default validation), printer columns, status merge patch, -o jsonpath."""
    _apply_basics(kubectl, tmp_path)
    table = kubectl.run("get", "pipelines").stdout
    assert table.split("\n")[0].split() == [
        "NAME",
        "APP",
        "KIND",
        "APP",
        "NAME",
        "AGE",
        "READY",
        "STATUS",
    ]
    kubectl.run("patch", "pipeline", "web", "--subresource=status", "--type=merge", "-p", READY)
    row = kubectl.run("get", "pipelines", "--no-headers").stdout
    assert "True" in row and "all good" in row
    value = kubectl.run(
        "get",
        "pipeline",
        "web",
        "-o",
        "jsonpath={.metadata.generation}/{.status.conditions[0].reason}",
    ).stdout
    assert value == "1/Synced"


def test_watch_sees_status_change_and_wait(kubectl: Kubectl, tmp_path: Path) -> None:
    """get -w prints the row again on a status change; wait --for=jsonpath returns once true."""
    _apply_basics(kubectl, tmp_path)
    watcher = kubectl.popen("get", "pipelines", "-w", "--request-timeout=0")
    try:
        time.sleep(1.0)
        kubectl.run("patch", "pipeline", "web", "--subresource=status", "--type=merge", "-p", READY)
        kubectl.run(
            "wait", "--for=jsonpath={.status.observedGeneration}=1", "pipeline/web", "--timeout=10s"
        )
        time.sleep(0.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.startswith("web")]
    assert len(lines) >= 2
    assert "all good" in lines[-1]


def test_diff_is_safe_and_delete_waits(kubectl: Kubectl, tmp_path: Path) -> None:
    """diff shows a change but persists nothing; delete waits, with and without finalizers."""
    manifest = _apply_basics(kubectl, tmp_path)
    rv = kubectl.run("get", "pipeline", "web", "-o", "jsonpath={.metadata.resourceVersion}").stdout
    changed = tmp_path / "changed.yaml"
    changed.write_text(PIPELINE.replace("name: dev", "name: staging"), encoding="utf-8")
    diff = kubectl.run("diff", "-f", str(changed), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "staging" in diff.stdout
    assert (
        kubectl.run("get", "pipeline", "web", "-o", "jsonpath={.metadata.resourceVersion}").stdout
        == rv
    )
    kubectl.run("delete", "-f", str(manifest), "--wait=true", "--timeout=10s")
    assert kubectl.run("get", "pipeline", "web", check=False).returncode != 0
    kubectl.run("apply", "-f", str(manifest))
    kubectl.run(
        "patch",
        "pipeline",
        "web",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["example.com/cleanup"]}}',
    )
    kubectl.run("delete", "pipeline", "web", "--wait=false")
    stamp = kubectl.run(
        "get", "pipeline", "web", "-o", "jsonpath={.metadata.deletionTimestamp}"
    ).stdout
    assert stamp
    waiter = kubectl.popen("delete", "pipeline", "web", "--timeout=20s")
    time.sleep(1.0)
    kubectl.run(
        "patch",
        "pipeline",
        "web",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
    assert waiter.wait(timeout=20) == 0
    waiter.communicate()


def test_explain_api_resources_and_strict(kubectl: Kubectl, tmp_path: Path) -> None:
    """explain shows CRD fields, api-resources lists the CRDs, Strict names the unknown field."""
    _apply_basics(kubectl, tmp_path)
    explained = kubectl.run("explain", "pipeline.spec.environments").stdout
    assert "targets" in explained
    resources = kubectl.run("api-resources").stdout
    assert "pipelines" in resources and "helmreleases" in resources and "leases" in resources
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        PIPELINE.replace(
            "    name: web\n  environments", "    name: web\n  bogus: 1\n  environments"
        ),
        encoding="utf-8",
    )
    result = kubectl.run("apply", "-f", str(bad), check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.bogus"' in result.stderr


def test_get_events_written_through_events_api(kubectl: Kubectl, tmp_path: Path) -> None:
    """An events.k8s.io/v1 Event shows up in kubectl get events."""
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web.promoted", "namespace": "default"},
        "eventTime": "2024-01-01T00:00:00.000000Z",
        "reportingController": "ferryman",
        "reportingInstance": "ferryman-0",
        "action": "Promote",
        "reason": "Promoted",
        "type": "Normal",
        "note": "Promoted web to 1.2.3",
        "regarding": {
            "apiVersion": "pipelines.weave.works/v1alpha1",
            "kind": "Pipeline",
            "name": "web",
            "namespace": "default",
        },
    }
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(event), encoding="utf-8")
    kubectl.run("create", "-f", str(path))
    out = kubectl.run("get", "events").stdout
    assert "Promoted web to 1.2.3" in out
    assert "pipeline/web" in out


def test_ferryman_generated_crd(kubectl: Kubectl, tmp_path: Path) -> None:
    """Ferryman's own generated CRD installs and serves the same Pipeline as the original."""
    _apply_basics(kubectl, tmp_path, crd=GENERATED_CRD)
    assert (
        kubectl.run("get", "pipeline", "web", "-o", "jsonpath={.spec.appRef.kind}").stdout
        == "HelmRelease"
    )
