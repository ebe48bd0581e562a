"""Table columns of built-in kinds, as kube-apiserver's printers give them to ``kubectl get``.

The columns live in Go, not in OpenAPI: kubernetes ``pkg/printers/internalversion/printers.go``
(``AddHandlers``: one column list and one print function per kind). This module re-implements
them for the kinds people list first — each list names its upstream counterpart — with the same
column names, priorities (1 = ``-o wide`` only) and cell texts (``<none>``, ``0/1``,
``80/TCP``…). Kinds without a printer get the default table convertor's Name and Created At.
Nothing runs a Pod here, so pod and workload cells read whatever status was written.

Over ~400 lines on purpose: it is one table (column lists and their cell functions, kind by
kind, in upstream's order), and splitting it would separate each kind from its neighbours that
share helpers (containers, selectors, ages).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ferryman.embedded.apiserver.registry import Column

Obj = dict[str, Any]
Cell = Callable[[Obj, datetime], Any]
Printer = list[tuple[Column, Cell]]
NONE = "<none>"


# --------------------------------------------------------------------------- helpers
def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``: 45s, 3m20s, 15m, 4h5m, 2d3h, 400d, 3y20d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """A metav1.Time/MicroTime string as a datetime (None when absent or unparsable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        then = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return then if then.tzinfo is not None else then.replace(tzinfo=UTC)


def age(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: an age, ``<unknown>`` when absent or unparsable."""
    then = parse_time(value)
    return "<unknown>" if then is None else human_duration((now - then).total_seconds())


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _meta_age(o: Obj, now: datetime) -> str:
    return age(_get(o, "metadata", "creationTimestamp"), now)


def _name(o: Obj, now: datetime) -> str:
    return str(_get(o, "metadata", "name") or "")


def _col(name: str, description: str = "", *, type_: str = "string", priority: int = 0) -> Column:
    return Column(name, type_, description=description, priority=priority)


NAME = (
    Column(
        "Name",
        "string",
        format="name",
        description="Name must be unique within a namespace. Is required when creating resources.",
    ),
    _name,
)
AGE = (
    _col(
        "Age",
        "CreationTimestamp is a timestamp representing the server time when this object "
        "was created.",
    ),
    _meta_age,
)
CREATED_AT = (
    _col("Created At", "CreationTimestamp of the object.", type_="date"),
    lambda o, n: str(_get(o, "metadata", "creationTimestamp") or ""),
)


def _selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: ``app=web,tier in (a,b)``, ``<none>`` when empty."""
    if not isinstance(selector, dict) or not selector:
        return NONE
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key = expr.get("operator", ""), expr.get("key", "")
        values = ",".join(expr.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(parts) or NONE


def _containers(spec_path: tuple[str, ...]) -> list[tuple[Column, Cell]]:
    """The wide CONTAINERS and IMAGES columns of a pod template at ``spec_path``."""

    def listed(key: str) -> Cell:
        return lambda o, n: ",".join(
            str(c.get(key, "")) for c in (_get(o, *spec_path, "containers") or [])
        )

    return [
        (
            _col("Containers", "Names of each container in the template.", priority=1),
            listed("name"),
        ),
        (
            _col("Images", "Images referenced by each container in the template.", priority=1),
            listed("image"),
        ),
    ]


def _count(*path: str) -> Cell:
    return lambda o, n: int(_get(o, *path) or 0)


def _wide_selector(*path: str) -> tuple[Column, Cell]:
    return (
        _col("Selector", "The label selector that identifies the objects it manages.", priority=1),
        lambda o, n: _selector(_get(o, *path)),
    )


# ------------------------------------------------------------------------------ pods
def _pod_status(o: Obj) -> tuple[str, int, int, int]:
    """(STATUS, ready, total, restarts) the way ``printPod`` derives them (simplified)."""
    status = o.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    statuses = status.get("containerStatuses") or []
    total = len(_get(o, "spec", "containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    for c in reversed(statuses):
        state = c.get("state") or {}
        if _get(state, "waiting", "reason"):
            reason = state["waiting"]["reason"]
        elif _get(state, "terminated", "reason"):
            reason = state["terminated"]["reason"]
    if _get(o, "metadata", "deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, total, restarts


POD: Printer = [
    NAME,
    (
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        lambda o, n: "{1}/{2}".format(*_pod_status(o)),
    ),
    (
        _col("Status", "The aggregate status of the containers in this pod."),
        lambda o, n: _pod_status(o)[0],
    ),
    (
        _col("Restarts", "The number of times the containers in this pod have been restarted."),
        lambda o, n: str(_pod_status(o)[3]),
    ),
    AGE,
    (
        _col("IP", "IP address assigned to the pod.", priority=1),
        lambda o, n: _get(o, "status", "podIP") or NONE,
    ),
    (
        _col("Node", "Name of the node where the pod runs.", priority=1),
        lambda o, n: _get(o, "spec", "nodeName") or NONE,
    ),
    (
        _col("Nominated Node", "Node the pod is nominated to.", priority=1),
        lambda o, n: _get(o, "status", "nominatedNodeName") or NONE,
    ),
    (
        _col("Readiness Gates", "Readiness gates of the pod.", priority=1),
        lambda o, n: (
            NONE if not _get(o, "spec", "readinessGates") else str(len(o["spec"]["readinessGates"]))
        ),
    ),
]


# ------------------------------------------------------------------------- workloads
def _ready_of(o: Obj) -> str:
    """READY of Deployments and StatefulSets: ready replicas over desired replicas."""
    return f"{int(_get(o, 'status', 'readyReplicas') or 0)}/{int(_get(o, 'spec', 'replicas') or 0)}"


DEPLOYMENT: Printer = [
    NAME,
    (
        _col("Ready", "Number of the pod with ready state"),
        lambda o, n: _ready_of(o),
    ),
    (
        _col(
            "Up-to-date",
            "Total number of non-terminated pods targeted by this deployment that have the "
            "desired template spec.",
            type_="integer",
        ),
        _count("status", "updatedReplicas"),
    ),
    (
        _col(
            "Available",
            "Total number of available pods (ready for at least minReadySeconds) targeted by "
            "this deployment.",
            type_="integer",
        ),
        _count("status", "availableReplicas"),
    ),
    AGE,
    *_containers(("spec", "template", "spec")),
    _wide_selector("spec", "selector"),
]

REPLICA_SET: Printer = [
    NAME,
    (_col("Desired", "Number of desired pods.", type_="integer"), _count("spec", "replicas")),
    (
        _col("Current", "Number of actually running pods.", type_="integer"),
        _count("status", "replicas"),
    ),
    (_col("Ready", "Number of ready pods.", type_="integer"), _count("status", "readyReplicas")),
    AGE,
    *_containers(("spec", "template", "spec")),
    _wide_selector("spec", "selector"),
]

STATEFUL_SET: Printer = [
    NAME,
    (
        _col("Ready", "Number of the pod with ready state"),
        lambda o, n: _ready_of(o),
    ),
    AGE,
    *_containers(("spec", "template", "spec")),
]

DAEMON_SET: Printer = [
    NAME,
    (
        _col(
            "Desired",
            "The desired number of nodes that should be running the daemon pod.",
            type_="integer",
        ),
        _count("status", "desiredNumberScheduled"),
    ),
    (
        _col("Current", "The number of nodes running at least one daemon pod.", type_="integer"),
        _count("status", "currentNumberScheduled"),
    ),
    (
        _col("Ready", "The number of nodes running the daemon pod and ready.", type_="integer"),
        _count("status", "numberReady"),
    ),
    (
        _col("Up-to-date", "The number of nodes running the updated daemon pod.", type_="integer"),
        _count("status", "updatedNumberScheduled"),
    ),
    (
        _col("Available", "The number of nodes with an available daemon pod.", type_="integer"),
        _count("status", "numberAvailable"),
    ),
    (
        _col("Node Selector", "The node selector of the daemon pods."),
        lambda o, n: (
            ",".join(
                f"{k}={v}"
                for k, v in sorted(
                    (_get(o, "spec", "template", "spec", "nodeSelector") or {}).items()
                )
            )
            or NONE
        ),
    ),
    AGE,
    *_containers(("spec", "template", "spec")),
    _wide_selector("spec", "selector"),
]


def _job_status(o: Obj) -> str:
    """``printJob``'s STATUS: the terminal or notable condition, else Running."""
    conditions = {c.get("type"): c.get("status") for c in _get(o, "status", "conditions") or []}
    for name in ("Complete", "Failed", "FailureTarget", "SuccessCriteriaMet"):
        if conditions.get(name) == "True":
            return name
    if _get(o, "metadata", "deletionTimestamp"):
        return "Terminating"
    if conditions.get("Suspended") == "True":
        return "Suspended"
    return "Running"


def _completions(o: Obj, now: datetime) -> str:
    succeeded = int(_get(o, "status", "succeeded") or 0)
    completions = _get(o, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(_get(o, "spec", "parallelism") or 0)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _duration(o: Obj, now: datetime) -> str:
    start = parse_time(_get(o, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(_get(o, "status", "completionTime")) or now
    return human_duration((end - start).total_seconds())


JOB: Printer = [
    NAME,
    (_col("Status", "Status of the job."), lambda o, n: _job_status(o)),
    (
        _col("Completions", "The number of successfully completed pods and the desired number."),
        _completions,
    ),
    (_col("Duration", "Time required to complete the job."), _duration),
    AGE,
    *_containers(("spec", "template", "spec")),
    _wide_selector("spec", "selector"),
]

CRON_JOB: Printer = [
    NAME,
    (
        _col("Schedule", "The schedule in Cron format."),
        lambda o, n: _get(o, "spec", "schedule") or "",
    ),
    (
        _col("Timezone", "The time zone of the schedule."),
        lambda o, n: _get(o, "spec", "timeZone") or NONE,
    ),
    (
        _col("Suspend", "Whether scheduling is suspended.", type_="boolean"),
        lambda o, n: "True" if _get(o, "spec", "suspend") else "False",
    ),
    (
        _col("Active", "The number of running jobs.", type_="integer"),
        lambda o, n: len(_get(o, "status", "active") or []),
    ),
    (
        _col("Last Schedule", "When the job was last scheduled."),
        lambda o, n: (
            age(_get(o, "status", "lastScheduleTime"), n)
            if _get(o, "status", "lastScheduleTime")
            else NONE
        ),
    ),
    AGE,
    *_containers(("spec", "jobTemplate", "spec", "template", "spec")),
    _wide_selector("spec", "jobTemplate", "spec", "selector"),
]

HPA: Printer = [
    NAME,
    (
        _col("Reference", "The target the autoscaler scales."),
        lambda o, n: "{kind}/{name}".format(
            **(_get(o, "spec", "scaleTargetRef") or {"kind": "", "name": ""})
        ),
    ),
    (_col("Targets", "Current and target metric values."), lambda o, n: "<unknown>"),
    (
        _col("MinPods", "Lower limit of pods.", type_="integer"),
        lambda o, n: _get(o, "spec", "minReplicas") or "<unset>",
    ),
    (_col("MaxPods", "Upper limit of pods.", type_="integer"), _count("spec", "maxReplicas")),
    (
        _col("Replicas", "Current number of pods.", type_="integer"),
        _count("status", "currentReplicas"),
    ),
    AGE,
]


# --------------------------------------------------------------------------- network
def _service_external_ip(o: Obj) -> str:
    spec = o.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    if kind == "LoadBalancer":
        ingress = _get(o, "status", "loadBalancer", "ingress") or []
        found = [i.get("ip") or i.get("hostname") for i in ingress] + external
        return ",".join(str(f) for f in found if f) or "<pending>"
    return ",".join(external) or NONE


def _service_ports(o: Obj) -> str:
    ports = []
    for port in _get(o, "spec", "ports") or []:
        text = str(port.get("port", ""))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(ports) or NONE


SERVICE: Printer = [
    NAME,
    (_col("Type", "The type of the service."), lambda o, n: _get(o, "spec", "type") or "ClusterIP"),
    (
        _col("Cluster-IP", "The cluster IP of the service."),
        lambda o, n: _get(o, "spec", "clusterIP") or NONE,
    ),
    (_col("External-IP", "The external IPs of the service."), lambda o, n: _service_external_ip(o)),
    (_col("Port(s)", "The ports of the service."), lambda o, n: _service_ports(o)),
    AGE,
    (
        _col("Selector", "The selector of the pods the service routes to.", priority=1),
        lambda o, n: _selector(_get(o, "spec", "selector")),
    ),
]


def _endpoints(o: Obj, now: datetime) -> str:
    found = [
        f"{a.get('ip')}:{p.get('port')}"
        for subset in o.get("subsets") or []
        for a in subset.get("addresses") or []
        for p in subset.get("ports") or [{}]
    ]
    return ",".join(found) or NONE


ENDPOINTS: Printer = [NAME, (_col("Endpoints", "Endpoints of the service."), _endpoints), AGE]


# ---------------------------------------------------------------------- core objects
NAMESPACE: Printer = [
    NAME,
    (_col("Status", "The status of the namespace"), lambda o, n: _get(o, "status", "phase") or ""),
    AGE,
]
CONFIG_MAP: Printer = [
    NAME,
    (
        _col("Data", "The number of entries in the data", type_="integer"),
        lambda o, n: len(o.get("data") or {}) + len(o.get("binaryData") or {}),
    ),
    AGE,
]
SECRET: Printer = [
    NAME,
    (_col("Type", "The type of the secret"), lambda o, n: o.get("type", "")),
    (
        _col("Data", "The number of entries in the secret data", type_="integer"),
        lambda o, n: len(o.get("data") or {}),
    ),
    AGE,
]
SERVICE_ACCOUNT: Printer = [
    NAME,
    (
        _col(
            "Secrets",
            "Secrets is the list of secrets allowed to be used by pods running using this "
            "ServiceAccount.",
            type_="integer",
        ),
        lambda o, n: len(o.get("secrets") or []),
    ),
    AGE,
]


def _event_last_seen(o: Obj, now: datetime) -> str:
    ts = (
        o.get("lastTimestamp")
        or (o.get("series") or {}).get("lastObservedTime")
        or o.get("eventTime")
        or _get(o, "metadata", "creationTimestamp")
    )
    return age(ts, now)


def _event_object(o: Obj) -> str:
    ref = o.get("involvedObject") or o.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


EVENT: Printer = [
    (_col("Last Seen", "Time when last this event was seen."), _event_last_seen),
    (_col("Type", "Type of this event."), lambda o, n: o.get("type", "")),
    (_col("Reason", "Reason why this event was generated."), lambda o, n: o.get("reason", "")),
    (_col("Object", "The object this event is about."), lambda o, n: _event_object(o)),
    (
        _col("Subobject", "The subobject this event is about.", priority=1),
        lambda o, n: (o.get("involvedObject") or o.get("regarding") or {}).get("fieldPath", ""),
    ),
    (
        _col("Source", "The component reporting this event.", priority=1),
        lambda o, n: _get(o, "source", "component") or o.get("reportingComponent") or "",
    ),
    (
        _col("Message", "A human-readable description of the status of this operation."),
        lambda o, n: o.get("message", o.get("note", "")),
    ),
    (
        _col("First Seen", "The time at which the event was first recorded.", priority=1),
        lambda o, n: age(o.get("firstTimestamp") or o.get("eventTime"), n),
    ),
    (
        _col("Count", "The number of times this event has occurred.", priority=1),
        lambda o, n: str(o.get("count") or (o.get("series") or {}).get("count") or 1),
    ),
    (_col("Name", "The name of the event.", priority=1), _name),
]

LEASE: Printer = [
    NAME,
    (
        _col("Holder", "The holder of the lease."),
        lambda o, n: _get(o, "spec", "holderIdentity") or "",
    ),
    AGE,
]


def _subjects(kind: str) -> Cell:
    def cell(o: Obj, now: datetime) -> str:
        found = []
        for s in o.get("subjects") or []:
            if s.get("kind") != kind:
                continue
            found.append(
                f"{s.get('namespace', '')}/{s.get('name', '')}"
                if kind == "ServiceAccount"
                else str(s.get("name", ""))
            )
        return ", ".join(found)

    return cell


BINDING: Printer = [
    NAME,
    (
        _col("Role", "The role the binding refers to."),
        lambda o, n: f"{_get(o, 'roleRef', 'kind')}/{_get(o, 'roleRef', 'name')}",
    ),
    AGE,
    (_col("Users", "The users bound.", priority=1), _subjects("User")),
    (_col("Groups", "The groups bound.", priority=1), _subjects("Group")),
    (
        _col("ServiceAccounts", "The service accounts bound.", priority=1),
        _subjects("ServiceAccount"),
    ),
]
ROLE: Printer = [NAME, CREATED_AT]


def _node_status(o: Obj, now: datetime) -> str:
    conditions = {c.get("type"): c.get("status") for c in _get(o, "status", "conditions") or []}
    status = {"True": "Ready", "False": "NotReady"}.get(str(conditions.get("Ready")), "Unknown")
    return status + (",SchedulingDisabled" if _get(o, "spec", "unschedulable") else "")


NODE: Printer = [
    NAME,
    (_col("Status", "The status of the node"), _node_status),
    (
        _col("Roles", "The roles of the node"),
        lambda o, n: (
            ",".join(
                sorted(
                    k.split("/", 1)[1]
                    for k in (_get(o, "metadata", "labels") or {})
                    if k.startswith("node-role.kubernetes.io/")
                )
            )
            or NONE
        ),
    ),
    AGE,
    (
        _col("Version", "Kubelet Version reported by the node."),
        lambda o, n: _get(o, "status", "nodeInfo", "kubeletVersion") or "",
    ),
]

#: group/resource → printer (the storage key, so both Event APIs share the core printer).
BY_RESOURCE: dict[str, Printer] = {
    "/pods": POD,
    "/services": SERVICE,
    "/endpoints": ENDPOINTS,
    "/namespaces": NAMESPACE,
    "/configmaps": CONFIG_MAP,
    "/secrets": SECRET,
    "/serviceaccounts": SERVICE_ACCOUNT,
    "/events": EVENT,
    "/nodes": NODE,
    "/replicationcontrollers": REPLICA_SET,
    "/limitranges": ROLE,
    "apps/deployments": DEPLOYMENT,
    "apps/replicasets": REPLICA_SET,
    "apps/statefulsets": STATEFUL_SET,
    "apps/daemonsets": DAEMON_SET,
    "batch/jobs": JOB,
    "batch/cronjobs": CRON_JOB,
    "autoscaling/horizontalpodautoscalers": HPA,
    "coordination.k8s.io/leases": LEASE,
    "rbac.authorization.k8s.io/rolebindings": BINDING,
    "rbac.authorization.k8s.io/clusterrolebindings": BINDING,
    "rbac.authorization.k8s.io/roles": ROLE,
    "rbac.authorization.k8s.io/clusterroles": ROLE,
}

#: The default table convertor's columns, for kinds without a printer.
DEFAULT: Printer = [NAME, CREATED_AT]
