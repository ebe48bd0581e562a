"""Ports to Kubernetes API servers: objects as plain JSON dicts, watched or read, and status writes.

The controller never sees a client library: it sees ``Cluster``s (the Pipeline's own and remote
ones), ``ResourceSource``s to list and watch one kind in one namespace, a ``TargetReader`` for
the app objects of targets, a ``PipelineStore`` for status writes with optimistic concurrency, an
``EventSink``, and a ``LeaseStore`` for leader election.

Error hierarchy (raised by adapters, translated from the client library):

    KubernetesError
    ├── Conflict        409: the resourceVersion precondition failed; re-read and decide again
    ├── NotFound        404
    ├── Expired         410: a watch or list resourceVersion is too old; relist
    └── Unavailable     connection refused, timeouts, 5xx: retry with backoff
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol

from ferryman.api import conditions, pipeline

JSON = dict[str, Any]


class TargetRead(NamedTuple):
    """One target's app object, or why it could not be read."""

    obj: JSON | None
    error: str = ""  # why ``obj`` is None, a sentence naming the object ("" when it is missing)
    reason: str = ""  # the condition reason of that (TargetClusterNotFound, ...), if one applies


class KubernetesError(Exception):
    """A request to an API server failed."""


class Conflict(KubernetesError):
    """The object changed since it was read (HTTP 409)."""


class NotFound(KubernetesError):
    """The object or its kind does not exist (HTTP 404)."""


class Expired(KubernetesError):
    """The resourceVersion is too old (HTTP 410): list again."""


class Unavailable(KubernetesError):
    """The server could not be reached or failed (connection errors, timeouts, 5xx)."""


@dataclass(frozen=True)
class Kind:
    """A kind as a spec writes it (``helm.toolkit.fluxcd.io/v2beta1``, ``HelmRelease``)."""

    api_version: str
    kind: str

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group)."""
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True)
class WatchEvent:
    """One event of a watch stream."""

    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: JSON = field(default_factory=dict)


class ResourceSource(Protocol):
    """List and watch one kind in one namespace (or all namespaces) of one cluster."""

    async def list(self) -> tuple[list[JSON], str]:
        """Every object and the list's resourceVersion (raises ``Unavailable``/``NotFound``)."""
        ...

    def watch(self, resource_version: str) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version`` until the server ends the stream.

        Raises ``Expired`` when the version is too old (the caller relists) and ``Unavailable``
        when the connection breaks (the caller reconnects with backoff).
        """
        ...


class Cluster(Protocol):
    """One API server: the Pipeline's own (name ``""``) or a remote one from a GitopsCluster."""

    name: str

    async def resolve(self, kind: Kind) -> Kind:
        """The served version of ``kind``: itself, or the group's preferred version when the
        requested one is no longer served (Pipelines from the Weave GitOps era say
        ``helm.toolkit.fluxcd.io/v2beta1``). Raises ``NotFound`` when the group lacks the kind."""
        ...

    def source(self, kind: Kind, namespace: str | None) -> ResourceSource:
        """A list/watch source for ``kind`` (already resolved) in ``namespace`` (None: all)."""
        ...

    async def get(self, kind: Kind, namespace: str, name: str) -> JSON | None:
        """The object, or ``None`` when it does not exist."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class PipelineStore(Protocol):
    """Pipelines on the controller's own cluster."""

    async def get(self, namespace: str, name: str) -> JSON | None:
        """The Pipeline as stored, or ``None``."""
        ...

    async def write_status(self, obj: JSON, status: JSON) -> JSON:
        """Replace ``obj``'s status, on condition that its resourceVersion is still current.

        Pre: ``obj`` is the object the status was computed from. Post: the stored object (with
        its new resourceVersion). Raises ``Conflict`` when the object changed meanwhile.
        """
        ...


class PipelineReader(Protocol):
    """Reads one Pipeline (``PipelineStore`` from the API server, ``PipelineCache`` from memory)."""

    async def get(self, namespace: str, name: str) -> JSON | None:
        """The Pipeline, or ``None`` when there is none by that name."""
        ...


PipelineKey = tuple[str, str]  # (namespace, name)
PipelineListener = Callable[[PipelineKey | None], None]


class PipelineCache(Protocol):
    """Pipelines as the controller's informers hold them: reading costs no API request.

    What it serves can be a watch event behind the API server; anything written from it carries
    the resourceVersion it read (``PipelineStore.write_status``), so a stale read costs a 409 and
    a fresh read, never a lost update. Objects are shared with the cache: never mutate them.
    """

    async def get(self, namespace: str, name: str) -> JSON | None:
        """The cached Pipeline, or ``None`` when the cache holds none by that name.

        Waits for the first list to complete (bounded); raises ``Unavailable`` if it does not.
        """
        ...

    async def list(self, namespace: str | None) -> list[JSON]:
        """Every cached Pipeline (of ``namespace``; ``None``: all), ordered by namespace, name."""
        ...

    def subscribe(self, listener: PipelineListener) -> Callable[[], None]:
        """Call ``listener(key)`` after every change to a cached Pipeline (``None`` once, when
        the cache closes); returns the function that unsubscribes. Listeners must not block."""
        ...


@dataclass(frozen=True)
class EventRecord:
    """A Kubernetes Event about a Pipeline."""

    reason: str
    message: str
    warning: bool = False
    action: str = "Reconcile"
    annotations: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None  # deterministic name: creating it twice is a no-op


class EventSink(Protocol):
    """Records Events on a Pipeline (``regarding`` it)."""

    async def emit(self, pipeline: JSON, event: EventRecord) -> bool:
        """Create the Event; False when an Event of that ``name`` already existed."""
        ...


@dataclass(frozen=True)
class Lease:
    """A ``coordination.k8s.io/v1`` Lease as leader election sees it."""

    holder: str | None
    acquired: datetime | None
    renewed: datetime | None
    duration_seconds: int
    transitions: int
    resource_version: str = ""


class LeaseStore(Protocol):
    """Reads and conditionally writes one Lease."""

    async def get(self) -> Lease | None:
        """The Lease, or ``None`` when it does not exist yet."""
        ...

    async def create(self, lease: Lease) -> Lease:
        """Create it; ``Conflict`` if someone else did first."""
        ...

    async def update(self, lease: Lease) -> Lease:
        """Replace it on condition of ``lease.resource_version``; ``Conflict`` otherwise."""
        ...


class TargetReader(Protocol):
    """What one target's app object looks like now."""

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> TargetRead:
        """The app object of ``target`` (``None`` when it does not exist), or ``(None, why)``
        when it cannot be read: the cluster is unavailable, the kind is not served, the cache
        could not sync. Never raises for a single target."""
        ...


class ClusterUnavailable(KubernetesError):
    """A GitopsCluster is missing or not Ready, or its kubeconfig cannot be used."""

    reason: ClassVar[str] = ""  # the original controller's condition reason, where it had one


class ClusterNotFound(ClusterUnavailable):
    """The GitopsCluster a target names does not exist."""

    reason: ClassVar[str] = conditions.TARGET_CLUSTER_NOT_FOUND


class ClusterNotReady(ClusterUnavailable):
    """The GitopsCluster a target names is not Ready."""

    reason: ClassVar[str] = conditions.TARGET_CLUSTER_NOT_READY


class ClusterDirectory(Protocol):
    """The controller's own cluster and the remote ones its Pipelines reference."""

    @property
    def local(self) -> Cluster:
        """The cluster the controller (and the Pipelines) live on."""
        ...

    async def remote(self, namespace: str, name: str) -> Cluster:
        """A client for the GitopsCluster ``namespace/name``, rebuilt when its Secret changes.

        Raises ``ClusterUnavailable`` with a sentence naming the object when it is missing, not
        Ready, or its Secret or kubeconfig is unusable.
        """
        ...


@dataclass(frozen=True)
class JobPlace:
    """Where a verification Job runs: a namespace on the Pipeline's cluster (``cluster`` None)
    or on the remote cluster of the GitopsCluster ``cluster`` = (namespace, name)."""

    namespace: str
    cluster: tuple[str, str] | None = None


class JobRunner(Protocol):
    """Creates and reads the Jobs of ``job`` verification checks (``batch/v1``).

    Both methods raise only ``domain.errors.TemporaryError`` (unreachable, 5xx, a remote cluster
    not Ready) or ``PermanentError`` (forbidden, an invalid Job), with a sentence naming the Job
    and the namespace (and, for 403, the permission the controller lacks).
    """

    async def create(self, place: JobPlace, job: JSON) -> tuple[JSON, bool]:
        """Create ``job`` in ``place``; when a Job of that name exists already (an earlier
        attempt made it) return that one instead: ``(job, created)``. Never makes a second."""
        ...

    async def get(self, place: JobPlace, name: str) -> JSON | None:
        """The Job ``name`` in ``place``, or ``None`` when it does not exist."""
        ...
