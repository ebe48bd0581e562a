"""Defaulting of built-in kinds: what a cluster fills in on every write, before validation.

Two sources upstream, both re-implemented here for the kinds people and controllers write:
the ``SetDefaults_*`` functions of ``pkg/apis/<group>/v1/defaults.go`` (pod specs, workloads,
Services, RBAC subjects) and the strategies' ``PrepareForCreate`` (a Job's generated selector,
a new Pod's ``Pending`` phase, a Namespace's ``kubernetes.io/metadata.name`` label). A Service's
cluster IP comes from the ``Allocator`` the object layer passes in. Nothing runs a Pod, so
nothing here goes past what the API server itself writes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from ferryman.embedded.apiserver.registry import ResourceType

#: The Service CIDR (kube-apiserver's default ``--service-cluster-ip-range``) and node ports.
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
KUBERNETES_SERVICE_IP = "10.96.0.1"
NODE_PORTS = range(30000, 32768)
RBAC_GROUP = "rbac.authorization.k8s.io"

_WORKLOADS = frozenset(
    (
        "/podtemplates",
        "/replicationcontrollers",
        "apps/daemonsets",
        "apps/deployments",
        "apps/replicasets",
        "apps/statefulsets",
        "batch/cronjobs",
        "batch/jobs",
    )
)

#: Returns the cluster IPs and node ports in use (the object layer scans the stored Services).
Allocator = Callable[[], tuple[set[str], set[int]]]


def apply(
    rt: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    allocator: Allocator | None = None,
) -> None:
    """Default ``obj`` in place (``old`` is None on create)."""
    key = f"{rt.group}/{rt.plural}"
    if key == "/pods":
        _pod(obj, old)
    elif key in _WORKLOADS:
        _workload(key, obj, old)
    elif key == "/services":
        _service(obj, old, allocator)
    elif key == "/namespaces":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"][
            "name"
        ]
    elif key in (f"{RBAC_GROUP}/rolebindings", f"{RBAC_GROUP}/clusterrolebindings"):
        _binding(obj)


# ------------------------------------------------------------------------- pod specs
def pod_spec(spec: dict[str, Any]) -> None:
    """``SetDefaults_PodSpec`` and the container, probe, port and volume defaults below it."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for name in ("containers", "initContainers"):
        for container in spec.get(name) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        for source in ("secret", "configMap", "downwardAPI", "projected"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def _container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        found = container.get(probe)
        if isinstance(found, dict):
            found.setdefault("timeoutSeconds", 1)
            found.setdefault("periodSeconds", 10)
            found.setdefault("successThreshold", 1)
            found.setdefault("failureThreshold", 3)
            if isinstance(found.get("httpGet"), dict):
                found["httpGet"].setdefault("scheme", "HTTP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def _qos_class(spec: dict[str, Any]) -> str:
    """``qos.GetPodQOS``: Guaranteed, Burstable or BestEffort from the containers' resources."""
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if set(limits) < {"cpu", "memory"} or any(
            str(requests.get(k, limits[k])) != str(limits[k]) for k in ("cpu", "memory")
        ):
            return "Burstable"
    return "Guaranteed"


def _pod(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    if old is None:
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}


# ------------------------------------------------------------------------- workloads
def _template_spec(spec: dict[str, Any], *path: str) -> None:
    template = spec
    for key in path:
        template = template.setdefault(key, {})
    pod_spec(template.setdefault("spec", {}))


def _workload(key: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    if old is None and key != "/podtemplates":
        obj.pop("status", None)  # PrepareForCreate: status is the controller's
    if key == "/podtemplates":
        pod_spec(obj.setdefault("template", {}).setdefault("spec", {}))
        return
    if key == "batch/cronjobs":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
        _job_spec(job_spec)
        _template_spec(job_spec, "template")
        return
    if key == "batch/jobs":
        _job_spec(spec)
        if old is None:
            _job_selector(obj)
    elif key == "apps/deployments":
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    elif key == "apps/statefulsets":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy",
            {"whenDeleted": "Retain", "whenScaled": "Retain"},
        )
    elif key == "apps/daemonsets":
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
    elif key in ("apps/replicasets", "/replicationcontrollers"):
        spec.setdefault("replicas", 1)
    if key == "/replicationcontrollers" and not spec.get("selector"):
        labels = (spec.get("template") or {}).get("metadata", {}).get("labels")
        if labels:
            spec["selector"] = dict(labels)  # SetDefaults_ReplicationController
    _template_spec(spec, "template")


def _job_spec(spec: dict[str, Any]) -> None:
    """``SetDefaults_Job`` (batch/v1)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if spec.get("podFailurePolicy") is None:
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    else:
        spec.setdefault("podReplacementPolicy", "Failed")
    spec.setdefault("manualSelector", None)
    if spec["manualSelector"] is None:
        del spec["manualSelector"]


def _job_selector(obj: dict[str, Any]) -> None:
    """The job strategy's ``generateSelector``: labels tying the Job's pods to its UID."""
    spec, meta = obj["spec"], obj["metadata"]
    if spec.get("manualSelector") is True:
        return
    uid, name = meta.get("uid", ""), meta.get("name", "")
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    labels.setdefault("batch.kubernetes.io/job-name", name)
    labels.setdefault("controller-uid", uid)
    labels.setdefault("job-name", name)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


# --------------------------------------------------------------------------- Services
def _service(obj: dict[str, Any], old: dict[str, Any] | None, allocator: Allocator | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if old is None:
        obj["status"] = {"loadBalancer": {}}
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if spec["type"] == "ExternalName":
        return
    spec.setdefault("internalTrafficPolicy", "Cluster")
    old_spec = (old or {}).get("spec") or {}
    used_ips, used_ports = allocator() if allocator is not None else (set(), set())
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    if not spec.get("clusterIP"):
        spec["clusterIP"] = _free_ip(used_ips)
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["clusterIP"] != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                port["nodePort"] = next(p for p in NODE_PORTS if p not in used_ports)
                used_ports.add(port["nodePort"])
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def _free_ip(used: set[str]) -> str:
    """The lowest free address of the Service CIDR after the ``kubernetes`` Service's."""
    for address in SERVICE_CIDR.hosts():
        text = str(address)
        if text != KUBERNETES_SERVICE_IP and text not in used:
            return text
    return "None"


# ------------------------------------------------------------------------------ RBAC
def _binding(obj: dict[str, Any]) -> None:
    """``SetDefaults_RoleBinding``/``SetDefaults_Subject`` (rbac/v1)."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    elif ref is None:
        obj["roleRef"] = {"apiGroup": RBAC_GROUP, "kind": "", "name": ""}
    for subject in obj.get("subjects") or []:
        named = isinstance(subject, dict) and subject.get("kind") in ("User", "Group")
        if named and not subject.get("apiGroup"):
            subject["apiGroup"] = RBAC_GROUP
