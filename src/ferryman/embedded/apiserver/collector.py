"""Garbage collection by ``metadata.ownerReferences``: what kube-controller-manager's garbage
collector does, done synchronously inside the request that makes it necessary.

Rules (kubernetes ``pkg/controller/garbagecollector``, and the apiserver's
``deletionFinalizersForGarbageCollection``):

- The propagation policy of a DELETE is ``propagationPolicy``, else the deprecated
  ``orphanDependents``, else the kind's default: ``Orphan`` for batch/v1 Jobs (kept for backwards
  compatibility upstream), ``Background`` for everything else.
- ``Orphan``: the owner's reference is removed from every dependent, then the owner is deleted.
- ``Background``: the owner is deleted; then each dependent whose owners are all gone is deleted
  in turn (``Foreground`` when it has dependents of its own is not distinguished: background),
  while a dependent that still has a live owner only loses the dangling reference.
- ``Foreground``: the owner gets ``deletionTimestamp`` and the ``foregroundDeletion`` finalizer,
  its dependents are deleted (foreground too); when none is left — a dependent held by its own
  finalizer keeps the owner waiting — the finalizer is removed and the owner goes.

An owner reference matches only an object of the same kind, name and UID (a re-created object
with the same name is not the owner). References to kinds this server does not serve are
treated as live, as the real collector leaves such dependents alone.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ferryman.embedded.apiserver import errors
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType

if TYPE_CHECKING:
    from ferryman.embedded.apiserver.objects import ObjectApi

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
GC_FINALIZERS = (ORPHAN, FOREGROUND)
_POLICIES = ("Orphan", "Background", "Foreground")


def propagation(rt: ResourceType, options: dict[str, Any]) -> str:
    """The DELETE's propagation policy (``ValidateDeleteOptions`` first: 422 when both are set)."""
    policy, orphan = options.get("propagationPolicy"), options.get("orphanDependents")
    causes = []
    if policy is not None and orphan is not None:
        causes.append(
            StatusCause(
                "FieldValueInvalid",
                f'Invalid value: "{policy}": orphanDependents and deletionPropagation cannot '
                "be both set",
                "propagationPolicy",
            )
        )
    if policy is not None and policy not in _POLICIES:
        causes.append(
            StatusCause(
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", '
                '"Orphan", "nil"',
                "propagationPolicy",
            )
        )
    if causes:
        raise errors.invalid("DeleteOptions", "meta.k8s.io", "", causes)
    if policy:
        return str(policy)
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    return (
        "Orphan" if (rt.group, rt.version, rt.plural) == ("batch", "v1", "jobs") else "Background"
    )


def _owner_type(api: ObjectApi, ref: dict[str, Any]) -> ResourceType | None:
    group, _, version = str(ref.get("apiVersion", "")).rpartition("/")
    for t in api.registry.types(group, version):
        if t.kind == ref.get("kind"):
            return t
    return None


def _owner_state(api: ObjectApi, ref: dict[str, Any], namespace: str) -> str:
    """``solid``, ``dangling`` or ``waiting`` (being deleted in the foreground)."""
    rt = _owner_type(api, ref)
    if rt is None:
        return "solid"
    owner = api.store.get(rt.gr, namespace if rt.namespaced else "", str(ref.get("name", "")))
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return "dangling"
    meta = owner["metadata"]
    if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or []):
        return "waiting"
    return "solid"


def _type_of(api: ObjectApi, gr: str) -> ResourceType | None:
    for t in api.registry.types():
        if t.gr == gr and not (t.storage and t.group):
            return t
    return None


def orphan(api: ObjectApi, owner: dict[str, Any]) -> None:
    """Remove ``owner``'s reference from every dependent (the ``Orphan`` policy)."""
    uid = owner["metadata"].get("uid")
    for gr, dependent in api.store.referencing(uid):
        new = copy.deepcopy(dependent)
        refs = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            del new["metadata"]["ownerReferences"]
        api.store.write(gr, new, dependent)


def collect(api: ObjectApi, removed: dict[str, Any]) -> None:
    """After ``removed`` left the store: its dependents, and owners waiting for it."""
    meta = removed["metadata"]
    for gr, dependent in api.store.referencing(meta.get("uid")):
        _attempt_delete(api, gr, dependent)
    namespace = meta.get("namespace", "")
    for ref in meta.get("ownerReferences") or []:
        rt = _owner_type(api, ref)
        if rt is not None and _owner_state(api, ref, namespace) == "waiting":
            owner = api.store.get(rt.gr, namespace if rt.namespaced else "", str(ref["name"]))
            if owner is not None:
                finish_foreground(api, rt, owner)


def _attempt_delete(api: ObjectApi, gr: str, dependent: dict[str, Any]) -> None:
    """The collector's ``attemptToDeleteItem`` for one dependent."""
    meta = dependent["metadata"]
    namespace = meta.get("namespace", "")
    states = {id(r): _owner_state(api, r, namespace) for r in meta.get("ownerReferences") or []}
    rt = _type_of(api, gr)
    if rt is None:
        return
    if "solid" in states.values():
        dangling = [r for r in meta["ownerReferences"] if states[id(r)] == "dangling"]
        if dangling:
            new = copy.deepcopy(dependent)
            new["metadata"]["ownerReferences"] = [
                r for r in meta["ownerReferences"] if states[id(r)] != "dangling"
            ]
            api.store.write(gr, new, dependent)
        return
    if meta.get("deletionTimestamp"):
        return  # already going; its finalizers decide when
    policy = "Foreground" if "waiting" in states.values() else "Background"
    api.delete(rt, namespace, meta["name"], {"propagationPolicy": policy}, api.gc_options)


def start_foreground(api: ObjectApi, rt: ResourceType, owner: dict[str, Any]) -> dict[str, Any]:
    """Delete ``owner``'s dependents first; returns the owner as stored afterwards."""
    for gr, dependent in api.store.referencing(owner["metadata"].get("uid")):
        _attempt_delete(api, gr, dependent)
    meta = owner["metadata"]
    current = api.store.get(rt.gr, meta.get("namespace", ""), meta["name"])
    if current is None:
        return owner
    return finish_foreground(api, rt, current)


def finish_foreground(api: ObjectApi, rt: ResourceType, owner: dict[str, Any]) -> dict[str, Any]:
    """Drop ``foregroundDeletion`` once no dependent blocks it (and remove the owner if done)."""
    uid = owner["metadata"].get("uid")
    blocking = [
        d
        for _, d in api.store.referencing(uid)
        if any(
            r.get("uid") == uid and r.get("blockOwnerDeletion")
            for r in d["metadata"]["ownerReferences"]
        )
    ]
    if blocking:
        return owner
    return api.remove_finalizer(rt, owner, FOREGROUND)
