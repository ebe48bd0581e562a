"""The resource verbs — get, list, create, update, patch, delete, deletecollection — over the store.

This is where Kubernetes' object semantics live, independent of HTTP: resourceVersion
preconditions (409), the ``/status`` split, ``metadata.generation``, no-op writes that keep the RV
and emit nothing, finalizers and ``deletionTimestamp``, namespace existence and cascading
namespace deletion, CRD registration, ``dryRun``, and where each write records its field
ownership (``managedfields``). Over ~400 lines because these rules interlock (a finalizer removal
can complete a namespace deletion; ownership decides whether a write is a no-op); each verb is one
method, the ownership and apply rules themselves live in ``managedfields``/``fieldpaths``.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ferryman.embedded.apiserver import (
    admission,
    authz,
    bootstrap_policy,
    cluster_objects,
    collector,
    crds,
    errors,
    escalation,
    eventsconv,
    fieldpaths,
    listing,
    managedfields,
    patches,
)
from ferryman.embedded.apiserver.admission import WriteOptions
from ferryman.embedded.apiserver.listing import ListOptions
from ferryman.embedded.apiserver.registry import Registry, ResourceType
from ferryman.embedded.apiserver.store import Store

NAMESPACES = "/namespaces"
CRDS = "apiextensions.k8s.io/customresourcedefinitions"
SERVICES = "/services"
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = frozenset(("default", "kube-system", "kube-public"))
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def timestamp(now: datetime) -> str:
    """RFC 3339 in seconds, as ``metav1.Time`` serialises."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Result:
    """What a write produced: the served object, ``Warning`` texts, whether it was created."""

    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    created: bool = False


def _semantic(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the fields a write never compares (RV, managedFields)."""
    meta = {
        k: v
        for k, v in obj.get("metadata", {}).items()
        if k not in ("resourceVersion", "managedFields")
    }
    return {**obj, "metadata": meta}


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), ~4x faster than ``copy.deepcopy``
    (no memo, no type dispatch): stored objects are JSON trees."""
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if kind is list:
        return [json_copy(v) if type(v) in (dict, list) else v for v in value]
    return value


def _valid_managed(entries: Any) -> bool:
    """Whether ``entries`` looks like managedFields a client may set (list of entry objects)."""
    return isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("manager", ""), str) for e in entries
    )


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class ObjectApi:
    """The verbs over one store and registry (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        clock: Callable[[], datetime] | None = None,
        ca_pem: str = "",
        address: tuple[str, int] = ("127.0.0.1", 6443),
    ) -> None:
        self.store = store
        self.registry = registry
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ca_pem = ca_pem
        self._address = address
        # RBAC escalation checks (set by the app, which owns the authorizer hook); None: none.
        self.escalation: escalation.Guard | None = None

    def now(self) -> str:
        """The current time as a metav1.Time string."""
        return timestamp(self._clock())

    # ---------------------------------------------------------------- startup
    def bootstrap(self) -> None:
        """Create the initial namespaces and serve every stored CRD."""
        ns_type = self._builtin("", "namespaces")
        for name in INITIAL_NAMESPACES:
            if self.store.get(NAMESPACES, "", name) is None:
                self.create(
                    ns_type,
                    "",
                    {"metadata": {"name": name}},
                    WriteOptions(field_manager="ferryman"),
                )
        for crd in self.store.scan(CRDS, None):
            self.registry.set_crd(crd["metadata"]["name"], crds.types_for(crd))
        for obj in bootstrap_policy.objects():
            rt = self._builtin("rbac.authorization.k8s.io", obj["kind"].lower() + "s")
            if self.store.get(rt.gr, "", obj["metadata"]["name"]) is None:
                self.create(rt, "", obj, WriteOptions(field_manager="kube-apiserver"))
        for namespace in self.store.scan(NAMESPACES, None):
            if not namespace["metadata"].get("deletionTimestamp"):
                self._ensure(
                    cluster_objects.for_namespace(namespace["metadata"]["name"], self._ca_pem)
                )
        self._ensure(cluster_objects.kubernetes_service(*self._address), replace=True)

    def _ensure(self, wanted: cluster_objects.Wanted, *, replace: bool = False) -> None:
        """Create what is missing (``replace``: also rewrite what differs), as a controller."""
        opts = WriteOptions(field_manager="kube-controller-manager")
        for group, plural, obj in wanted:
            rt = self._builtin(group, plural)
            meta = obj["metadata"]
            current = self.store.get(rt.gr, meta.get("namespace", ""), meta["name"])
            if current is None:
                self.create(rt, meta.get("namespace", ""), copy.deepcopy(obj), opts)
            elif replace and any(current.get(k) != v for k, v in obj.items() if k != "metadata"):
                fresh = {**copy.deepcopy(current), **copy.deepcopy(obj)}
                fresh["metadata"] = current["metadata"]
                self.update(rt, meta.get("namespace", ""), meta["name"], fresh, opts)

    def _service_addresses(self) -> tuple[set[str], set[int]]:
        """Cluster IPs and node ports of the stored Services (for allocating new ones)."""
        ips: set[str] = set()
        ports: set[int] = set()
        for service in self.store.scan(SERVICES, None):
            spec = service.get("spec") or {}
            ips.update(spec.get("clusterIPs") or [spec.get("clusterIP", "")])
            ports.update(p.get("nodePort", 0) for p in spec.get("ports") or [])
        return ips, ports

    def _builtin(self, group: str, plural: str) -> ResourceType:
        for t in self.registry.types(group):
            if t.plural == plural:
                return t
        raise errors.internal(f"built-in resource {plural} is not registered")

    # ------------------------------------------------------------------ views
    def view(self, rt: ResourceType, stored: dict[str, Any]) -> dict[str, Any]:
        """The stored object as ``rt`` serves it (events.k8s.io conversion, CR apiVersion)."""
        if rt.storage == "/events" and rt.group:
            return eventsconv.from_core(stored, rt.api_version)
        if stored.get("apiVersion") != rt.api_version:
            return {**stored, "apiVersion": rt.api_version}
        return stored

    def _to_storage(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rt.storage == "/events" and rt.group:
            return eventsconv.to_core(obj)
        return obj

    # ------------------------------------------------------------------ reads
    def get(self, rt: ResourceType, ns: str, name: str) -> dict[str, Any]:
        """The object, or 404."""
        stored = self.store.get(rt.gr, ns, name)
        if stored is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return self.view(rt, stored)

    def get_raw(self, rt: ResourceType, ns: str, name: str) -> str | None:
        """The object's JSON exactly as ``get`` would serve it, without decoding and encoding
        it again, when the stored row already is that (its leading ``apiVersion`` is the one
        ``rt`` serves and no conversion applies); ``None``: use ``get``. 404 when missing."""
        if rt.storage == "/events" and rt.group:
            return None
        raw = self.store.get_raw(rt.gr, ns, name)
        if raw is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return raw if raw.startswith(f'{{"apiVersion":"{rt.api_version}",') else None

    def list_raw(self, rt: ResourceType, ns: str | None, opts: ListOptions) -> str | None:
        """``list_objects``'s answer as JSON text built from the stored rows, where that is the
        same answer (``listing.list_raw``); ``None`` otherwise."""
        if rt.storage == "/events" and rt.group:
            return None
        return listing.list_raw(self.store, rt, ns, opts)

    def list_objects(self, rt: ResourceType, ns: str | None, opts: ListOptions) -> dict[str, Any]:
        """A ``<Kind>List`` (see ``listing``: selectors, consistent pages, RV rules)."""
        return listing.list_objects(self.store, rt, ns, opts, view=self.view)

    # ----------------------------------------------------------------- create
    def create(
        self,
        rt: ResourceType,
        ns: str,
        body: Any,
        opts: WriteOptions,
        *,
        applied: dict[str, Any] | None = None,
    ) -> Result:
        """POST: 201 with the stored object; 409 AlreadyExists; 404 for a missing namespace.

        ``applied`` is the configuration when a server-side apply creates the object: its
        manager then owns exactly those fields (operation Apply) instead of everything it wrote.
        """
        obj = admission.check_decodable(rt, body)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = ns
            self._check_namespace_open(rt, ns, meta.get("name") or meta.get("generateName", ""))
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice(_NAME_CHARS) for _ in range(5)
            )
        obj = self._to_storage(rt, obj)
        meta = obj["metadata"]
        self._check_escalation(rt, obj, None, opts, namespace=ns if rt.namespaced else "")
        admission.validate_metadata(rt, obj)
        if self.store.get(rt.gr, ns if rt.namespaced else "", meta["name"]) is not None:
            raise errors.already_exists(rt.plural, rt.group, meta["name"])
        now = self.now()
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now
        if rt.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.status and rt.is_custom:
            obj.pop("status", None)
        warnings = admission.admit(rt, obj, None, opts, now=now, allocator=self._service_addresses)
        given = meta.get("managedFields")
        base = given if _valid_managed(given) else []
        shape = fieldpaths.shape_for(rt)
        if applied is not None:
            _, meta["managedFields"] = managedfields.apply(
                base,
                {},
                applied,
                shape=shape,
                manager=opts.field_manager,
                subresource="",
                force=True,
                api_version=rt.api_version,
                now=now,
            )
        else:
            meta["managedFields"] = managedfields.update(
                base,
                None,
                obj,
                shape=shape,
                manager=opts.field_manager or "unknown",
                subresource="",
                api_version=rt.api_version,
                now=now,
            )
        if not meta["managedFields"]:
            meta.pop("managedFields")
        if not opts.dry_run:
            self.store.write(rt.gr, obj, None)
            if rt.gr == CRDS:
                self.registry.set_crd(meta["name"], crds.types_for(obj))
            obj = self._after_write(rt, obj, created=True)
        return Result(self.view(rt, obj), warnings, created=True)

    def _check_escalation(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        opts: WriteOptions,
        *,
        namespace: str,
        name: str = "",
    ) -> None:
        """RBAC writes by a user: no granting what they do not hold (``escalation``)."""
        if (
            self.escalation is None
            or opts.requester is None
            or rt.group != authz.RBAC_GROUP
            or rt.plural not in escalation.CHECKED_RESOURCES
        ):
            return
        self.escalation.check(
            rt.plural, obj, old, requester=opts.requester, namespace=namespace, request_name=name
        )

    def _check_namespace_open(self, rt: ResourceType, ns: str, name: str) -> None:
        namespace = self.store.get(NAMESPACES, "", ns)
        if namespace is None:
            raise errors.not_found("namespaces", "", ns)
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace '
                f"{ns} because it is being terminated",
                name=name,
                group=rt.group,
                kind=rt.plural,
            )

    # ----------------------------------------------------------------- update
    def update(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> Result:
        """PUT: RV precondition (409), CRs need an RV (422), subresource split."""
        obj = admission.check_decodable(rt, body)
        meta = obj["metadata"]
        if meta.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        old = self._current(rt, ns, name)
        rv = meta.get("resourceVersion")
        if not rv and rt.is_custom:
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    errors.StatusCause(
                        "FieldValueInvalid",
                        "Invalid value: 0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.qualified, "", name, errors.STALE_OBJECT)
        return self._replace(rt, old, self._to_storage(rt, obj), opts, subresource)

    def patch(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        content_type: str,
        doc: Any,
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> Result:
        """PATCH of any supported type; an RV inside the patch is a precondition."""
        if content_type == patches.STRATEGIC and rt.is_custom:
            raise errors.unsupported_media_type(
                ", ".join(p for p in patches.SUPPORTED if p != patches.STRATEGIC)
            )
        patches.validate_options(content_type, opts.field_manager, force_given=opts.force_given)
        stored = self.store.get(rt.gr, ns, name)
        applied = None
        if content_type == patches.APPLY:
            applied = self._apply_config(rt, doc, name, subresource)
        if stored is None:
            if applied is not None and not subresource:
                return self.create(rt, ns, doc, opts, applied=applied)
            raise errors.not_found(rt.plural, rt.group, name)
        old = self.view(rt, stored)
        managed = None
        if applied is not None:
            patched, managed = managedfields.apply(
                old["metadata"].get("managedFields") or [],
                old,
                applied,
                shape=fieldpaths.shape_for(rt),
                manager=opts.field_manager,
                subresource=subresource,
                force=opts.force,
                api_version=rt.api_version,
                now=self.now(),
            )
        else:
            patched = patches.apply_patch(content_type, rt.kind_key, copy.deepcopy(old), doc)
        patched = admission.check_decodable(
            rt, patched, patched=content_type in (patches.MERGE, patches.JSON_PATCH)
        )
        rv = patched["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.qualified, "", name, errors.STALE_OBJECT)
        if patched["metadata"].get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({patched['metadata'].get('name')}) does not match "
                f"the name on the URL ({name})"
            )
        return self._replace(
            rt, stored, self._to_storage(rt, patched), opts, subresource, managed=managed
        )

    @staticmethod
    def _apply_config(
        rt: ResourceType, doc: dict[str, Any], name: str, subresource: str
    ) -> dict[str, Any]:
        """The part of an apply configuration the endpoint writes (status split applies)."""
        doc = admission.check_decodable(rt, doc)
        doc["metadata"].setdefault("name", name)
        config = copy.deepcopy(doc)
        if subresource == "status":
            return {k: v for k, v in config.items() if k in ("apiVersion", "kind", "status")}
        if rt.status:
            config.pop("status", None)
        return config

    def _current(self, rt: ResourceType, ns: str, name: str) -> dict[str, Any]:
        stored = self.store.get(rt.gr, ns, name)
        if stored is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return stored

    def _replace(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        *,
        managed: list[dict[str, Any]] | None = None,
    ) -> Result:
        """Store ``new`` in place of ``old``; ``managed`` is given by apply, else computed."""
        old_meta = old["metadata"]
        given = new["metadata"].get("managedFields")
        if subresource == "status":
            status = new.get("status")
            new = json_copy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        else:
            if rt.status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            new_meta = new["metadata"]
            for key in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
            ):
                if key in old_meta:
                    new_meta[key] = old_meta[key]
                else:
                    new_meta.pop(key, None)
            new_meta["name"] = old_meta["name"]
            new_meta.pop("selfLink", None)
            admission.validate_metadata(rt, new)
        meta = new["metadata"]
        base = old_meta.get("managedFields") or []
        if (
            managed is None
            and _valid_managed(given)
            and given
            and managedfields.without_times(given) != managedfields.without_times(base)
        ):
            base = given  # a client rewrote managedFields on purpose (kubectl's CSA upgrade)
        meta["managedFields"] = base
        if old_meta.get("deletionTimestamp"):
            added = [
                f
                for f in meta.get("finalizers") or []
                if f not in (old_meta.get("finalizers") or [])
            ]
            if added:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    old_meta["name"],
                    [
                        errors.StatusCause(
                            "FieldValueForbidden",
                            "Forbidden: no new finalizers can be added if the object is "
                            "being deleted, "
                            "found new finalizers []string{"
                            + ", ".join(json.dumps(f) for f in added)
                            + "}",
                            "metadata.finalizers",
                        )
                    ],
                )
        self._check_escalation(
            rt, new, old, opts, namespace=old_meta.get("namespace", ""), name=old_meta["name"]
        )
        now = self.now()
        warnings = admission.admit(rt, new, old, opts, now=now, allocator=self._service_addresses)
        if rt.generation and _spec_part(new) != _spec_part(old):
            meta["generation"] = int(old_meta.get("generation", 0)) + 1
        if managed is None:
            managed = managedfields.update(
                base,
                old,
                new,
                shape=fieldpaths.shape_for(rt),
                manager=opts.field_manager or "unknown",
                subresource=subresource,
                api_version=rt.api_version,
                now=now,
            )
        if _semantic(new) == _semantic(old) and managedfields.without_times(
            managed
        ) == managedfields.without_times(old_meta.get("managedFields")):
            return Result(self.view(rt, old), warnings)
        meta["managedFields"] = managed
        if not managed:
            meta.pop("managedFields")
        if not opts.dry_run:
            if old_meta.get("deletionTimestamp") and not meta.get("finalizers"):
                self._remove(rt, new)
            else:
                self.store.write(rt.gr, new, old)
                if rt.gr == CRDS:
                    self.registry.set_crd(meta["name"], crds.types_for(new))
            new = self._after_write(rt, new)
        return Result(self.view(rt, new), warnings)

    # ----------------------------------------------------------------- delete
    def delete(
        self, rt: ResourceType, ns: str, name: str, options: dict[str, Any], opts: WriteOptions
    ) -> tuple[dict[str, Any], bool]:
        """DELETE; returns (object, finished). Finalizers make it a deletionTimestamp update."""
        old = self._current(rt, ns, name)
        meta = old["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(
                rt.qualified,
                "",
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                f"meta: {meta.get('uid')}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict(
                rt.qualified,
                "",
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
            )
        if rt.gr == NAMESPACES and name in PROTECTED_NAMESPACES:
            raise errors.forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                name=name,
                kind="namespaces",
            )
        policy = collector.propagation(rt, options)
        if opts.dry_run:
            return self.view(rt, old), not meta.get("finalizers")
        if rt.gr == NAMESPACES:
            return self._delete_namespace(rt, old)
        if policy == "Orphan":
            collector.orphan(self, old)
        if policy == "Foreground" and not meta.get("deletionTimestamp"):
            marked = self._mark_deleting(rt, old, add_finalizer=collector.FOREGROUND)
            current = collector.start_foreground(self, rt, marked)
            gone = self.store.get(rt.gr, ns, name) is None
            return self.view(rt, current), gone
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return self.view(rt, old), False
            return self.view(rt, self._mark_deleting(rt, old)), False
        if rt.gr == CRDS:
            self._delete_crd_instances(old)
        self._remove(rt, old)
        return self.view(rt, old), True

    #: What the garbage collector's own deletions send (no dry run, its field manager).
    gc_options = WriteOptions(field_manager="kube-controller-manager")

    def _mark_deleting(
        self, rt: ResourceType, obj: dict[str, Any], *, add_finalizer: str = ""
    ) -> dict[str, Any]:
        """Set ``deletionTimestamp`` (and bump a tracked ``generation``, as BeforeDelete does)."""
        new = copy.deepcopy(obj)
        meta = new["metadata"]
        meta["deletionTimestamp"] = self.now()
        meta["deletionGracePeriodSeconds"] = 0
        if int(meta.get("generation") or 0) > 0:
            meta["generation"] = int(meta["generation"]) + 1
        if add_finalizer and add_finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), add_finalizer]
        return self.store.write(rt.gr, new, obj)

    def remove_finalizer(
        self, rt: ResourceType, obj: dict[str, Any], finalizer: str
    ) -> dict[str, Any]:
        """Remove one finalizer as its controller would; the object goes when none is left."""
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        new = copy.deepcopy(obj)
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        else:
            new["metadata"].pop("finalizers", None)
        if not finalizers and new["metadata"].get("deletionTimestamp"):
            self._remove(rt, new)
            return new
        return self.store.write(rt.gr, new, obj)

    def _after_write(
        self, rt: ResourceType, obj: dict[str, Any], *, created: bool = False
    ) -> dict[str, Any]:
        """Play the controllers a cluster runs synchronously; returns ``obj`` as now stored.

        ClusterRole aggregation (the aggregated role's rules are rewritten at once, with its own
        watch event, so the answer to the write already shows them), and a new namespace's
        default ServiceAccount and CA ConfigMap (``cluster_objects``).
        """
        if created and rt.gr == NAMESPACES:
            self._ensure(cluster_objects.for_namespace(obj["metadata"]["name"], self._ca_pem))
        if rt.gr != authz.CLUSTER_ROLES or not authz.reconcile_aggregation(self.store):
            return obj
        meta = obj["metadata"]
        return self.store.get(rt.gr, meta.get("namespace", ""), meta["name"]) or obj

    def _remove(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        self.store.delete(rt.gr, obj)
        collector.collect(self, obj)
        if rt.gr == authz.CLUSTER_ROLES:
            authz.reconcile_aggregation(self.store)
        if rt.gr == CRDS:
            self.registry.remove_crd(obj["metadata"]["name"])
        ns = obj["metadata"].get("namespace", "")
        if ns:
            namespace = self.store.get(NAMESPACES, "", ns)
            if namespace is not None and namespace["metadata"].get("deletionTimestamp"):
                self._finish_namespace(namespace)

    def _delete_crd_instances(self, crd: dict[str, Any]) -> None:
        gr = f"{crd['spec']['group']}/{crd['spec']['names']['plural']}"
        for obj in self.store.scan(gr, None):
            self.store.delete(gr, obj)

    def _delete_namespace(
        self, rt: ResourceType, ns_obj: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        name = ns_obj["metadata"]["name"]
        if not ns_obj["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(ns_obj)
            new["metadata"]["deletionTimestamp"] = self.now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["status"] = {"phase": "Terminating"}
            ns_obj = self.store.write(NAMESPACES, new, ns_obj)
        for gr in self.store.namespaced_resources(name):
            for obj in self.store.scan(gr, name):
                meta = obj["metadata"]
                if meta.get("finalizers"):
                    if not meta.get("deletionTimestamp"):
                        new = copy.deepcopy(obj)
                        new["metadata"]["deletionTimestamp"] = self.now()
                        new["metadata"]["deletionGracePeriodSeconds"] = 0
                        if int(meta.get("generation") or 0) > 0:
                            new["metadata"]["generation"] = int(meta["generation"]) + 1
                        self.store.write(gr, new, obj)
                else:
                    self.store.delete(gr, obj)
        finished = self._finish_namespace(ns_obj)
        return self.view(rt, ns_obj), finished

    def _finish_namespace(self, ns_obj: dict[str, Any]) -> bool:
        if self.store.namespaced_resources(ns_obj["metadata"]["name"]):
            return False
        self.store.delete(NAMESPACES, ns_obj)
        return True

    def delete_collection(
        self,
        rt: ResourceType,
        ns: str | None,
        list_opts: ListOptions,
        options: dict[str, Any],
        opts: WriteOptions,
    ) -> dict[str, Any]:
        """DELETE on a collection: every selected object, returned as a List."""
        listed = self.list_objects(
            rt, ns, ListOptions(list_opts.label_selector, list_opts.field_selector)
        )
        deleted = []
        for obj in listed["items"]:
            meta = obj["metadata"]
            try:
                result, _ = self.delete(rt, meta.get("namespace", ""), meta["name"], options, opts)
            except errors.ApiError as exc:
                if exc.code in (403, 404):
                    continue
                raise
            deleted.append(result)
        listed["items"] = deleted
        listed["metadata"] = {"resourceVersion": str(self.store.rv)}
        return listed
