"""LIST semantics: option validation, resourceVersion rules and consistent paging.

Follows k8s.io/apiserver: ``ValidateListOptions`` (``resourceVersionMatch`` needs a
``resourceVersion``, is refused with ``continue`` and must be ``Exact`` or ``NotOlderThan``;
``sendInitialEvents`` is for watches only) answered as 422 ``ListOptions.meta.k8s.io``; a
``resourceVersion`` ahead of the store is a 504 ``Timeout`` as a real cluster answers after
waiting; ``Exact`` lists and every page after the first are served as of their resourceVersion
(``Store.scan_at``), so the pages of one list are a consistent snapshot, as etcd's MVCC gives; and
``remainingItemCount`` is set on a partial page when no selector filters it (the etcd3 store's
rule, since only then is the count exact). Continue tokens carry the snapshot RV and the last key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ferryman.embedded.apiserver import errors, selectors
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.registry import ResourceType
from ferryman.embedded.apiserver.store import Store, dumps

_MATCHES = ("Exact", "NotOlderThan")


@dataclass(frozen=True)
class ListOptions:
    """Parsed list/watch query parameters."""

    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    send_initial_events: bool | None = None

    def predicate(self, rt: ResourceType) -> selectors.Predicate | None:
        """The combined selector predicate (None when nothing is selected on)."""
        return selectors.combine(
            selectors.label_selector(self.label_selector),
            selectors.field_selector(self.field_selector, rt.field_labels),
        )


def validate(opts: ListOptions) -> None:
    """``ValidateListOptions`` for a list (not a watch): 422 on the first rule broken."""
    causes: list[StatusCause] = []
    match = opts.resource_version_match
    if match:
        if not opts.resource_version:
            causes.append(
                _forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided")
            )
        if opts.continue_token:
            causes.append(_forbidden("resourceVersionMatch is forbidden when continue is provided"))
        if match not in _MATCHES:
            causes.append(
                StatusCause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan", ""',
                    "resourceVersionMatch",
                )
            )
        if match == "Exact" and opts.resource_version == "0":
            causes.append(
                _forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
            )
    if opts.send_initial_events is not None:
        causes.append(
            StatusCause(
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents is forbidden for list",
                "sendInitialEvents",
            )
        )
    if causes:
        raise errors.invalid("ListOptions", "meta.k8s.io", "", causes)


def _forbidden(detail: str) -> StatusCause:
    return StatusCause("FieldValueForbidden", f"Forbidden: {detail}", "resourceVersionMatch")


def _snapshot_rv(opts: ListOptions, current: int) -> int:
    """The resourceVersion the first page is served at (current unless ``Exact``)."""
    if not opts.resource_version or opts.resource_version == "0":
        return current
    try:
        wanted = int(opts.resource_version)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {opts.resource_version}") from None
    if wanted > current:
        raise errors.ApiError(
            504,
            "Timeout",
            f"Too large resource version: {wanted}, current: {current}",
            retry_after=1,
        )
    return wanted if opts.resource_version_match == "Exact" else current


def encode_continue(rv: int, ns: str, name: str) -> str:
    """An opaque token: the snapshot RV and the last key returned."""
    raw = json.dumps({"rv": rv, "start": [ns, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """(snapshot RV, last key) of a continue token (400 when it is not one of ours)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, (ns, name) = int(data["rv"]), data["start"]
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request(f"invalid continue token: {token!r}") from None
    return rv, (str(ns), str(name))


def list_objects(
    store: Store,
    rt: ResourceType,
    ns: str | None,
    opts: ListOptions,
    *,
    view: Callable[[ResourceType, dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """A ``<Kind>List`` honouring selectors, ``limit``/``continue`` and the RV rules."""
    validate(opts)
    list_rv, after = _snapshot_rv(opts, store.rv), None
    if opts.continue_token:
        list_rv, after = decode_continue(opts.continue_token)
    stored = (
        store.scan(rt.gr, ns, after=after)
        if list_rv == store.rv
        else store.scan_at(rt.gr, ns, list_rv, after=after)
    )
    match = opts.predicate(rt)
    items: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
    for index, found in enumerate(stored):
        obj = view(rt, found)
        if match is not None and not match(obj):
            continue
        if opts.limit and len(items) == opts.limit:
            last = items[-1]["metadata"]
            meta["continue"] = encode_continue(list_rv, last.get("namespace", ""), last["name"])
            if match is None:
                meta["remainingItemCount"] = len(stored) - index
            break
        items.append(obj)
    return {
        "apiVersion": rt.api_version,
        "kind": f"{rt.kind}List",
        "metadata": meta,
        "items": items,
    }


def list_raw(store: Store, rt: ResourceType, ns: str | None, opts: ListOptions) -> str | None:
    """The ``<Kind>List`` of ``list_objects`` as JSON text made of the stored rows as they are,
    when nothing would change them: a whole, current, unfiltered list whose every row already
    has the apiVersion ``rt`` serves (a client's informer list). ``None``: use ``list_objects``.
    """
    validate(opts)
    if opts.limit or opts.continue_token or opts.predicate(rt) is not None:
        return None
    if _snapshot_rv(opts, store.rv) != store.rv:
        return None
    rows = store.scan_raw(rt.gr, ns)
    head = f'{{"apiVersion":{dumps(rt.api_version)},'
    if any(not row.startswith(head) for row in rows):
        return None
    return (
        f'{{"apiVersion":{dumps(rt.api_version)},"kind":{dumps(rt.kind + "List")},'
        f'"metadata":{{"resourceVersion":"{store.rv}"}},"items":[{",".join(rows)}]}}'
    )
