"""The list's "Waiting for your approval": promotions the signed-in user may decide now.

Pure, no I/O: the routes pass each Pipeline object with the approve/reject permissions the
pipeline page computes for its Approve button (``routes.Ui._decisions``: the same access review
through the cached reviewer, and the same approval-policy check), so an item is listed exactly
when the page it links to shows an Approve button. A promotion the user has already approved is
not waiting for them (their approval counts once), so it is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferryman.server.ui import views


@dataclass(frozen=True)
class WaitingItem:
    """One (pipeline, environment) whose promotion waits for the user's approval."""

    namespace: str
    name: str
    environment: str
    revision: str
    since: datetime  # when approval was requested (the record's start when not noted)
    approvals: int  # recorded so far
    required: int  # the policy's quorum

    @property
    def since_iso(self) -> str:
        """``since`` for ``<time datetime>`` (RFC 3339, UTC)."""
        return self.since.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def since_text(self) -> str:
        """``since`` as people read it."""
        return views.when(self.since)


def items_of(
    obj: Mapping[str, Any], permissions: Mapping[str, views.Permission], user: str
) -> list[WaitingItem]:
    """The environments of ``obj`` waiting for ``user``: waiting for approval, ``permissions``
    allow approving there, and ``user`` has not approved this revision yet."""
    meta = obj.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    found: list[WaitingItem] = []
    for waiting in views.waiting_environments(obj):
        environment, rule, record = waiting.environment, waiting.rule, waiting.record
        allowed = permissions.get(environment, views.Permission()).approve
        if not allowed or any(a.user == user for a in record.approvals):
            continue
        found.append(
            WaitingItem(
                namespace=namespace,
                name=name,
                environment=environment,
                revision=record.revision,
                since=record.approval_requested_at or record.requested_at,
                approvals=len(record.approvals),
                required=rule.required if rule is not None else 0,
            )
        )
    return found


def oldest_first(items: Iterable[WaitingItem]) -> list[WaitingItem]:
    """The longest wait first (then by pipeline and environment, so the order is stable)."""
    return sorted(items, key=lambda i: (i.since, i.namespace, i.name, i.environment))
