"""The change a promotion makes, as approvers see it and as its digest binds them to it.

A change is the list of marked scalars the strategy sets (file, line, old text, new text). Its
digest is sha256 over the sorted lines ``path marker old new`` (one per changed marker), so two
renderings of the same change always agree and any edit to a marked value, a new marker or a
removed one gives another digest. An approval records the digest it saw; at promotion time the
strategy renders the change again, and a different digest voids the approvals (``outcomes``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ferryman.api import status
from ferryman.domain import text


@dataclass(frozen=True)
class MarkerChange:
    """One marked scalar the promotion changes (texts as written in the file)."""

    path: str
    line: int
    old: str
    new: str


def digest(token: str, changes: Sequence[MarkerChange]) -> str:
    """sha256 (hex) over the sorted lines ``path marker old new`` of ``changes``."""
    lines = sorted(f"{c.path} {token} {c.old} {c.new}" for c in changes)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def summary(token: str, changes: Sequence[MarkerChange]) -> status.ChangeSummary:
    """The bounded summary kept in status: the digest, the count and the first few lines."""
    ordered = sorted(changes, key=lambda c: (c.path, c.line))
    lines = tuple(
        status.ChangeLine(
            path=text.bounded(c.path, 128), old=text.bounded(c.old, 64), new=text.bounded(c.new, 64)
        )
        for c in ordered[: status.MAX_CHANGE_LINES]
    )
    return status.ChangeSummary(digest=digest(token, changes), markers=len(changes), lines=lines)


def voided(approved: Sequence[status.ApprovalRecord], change: status.ChangeSummary) -> bool:
    """True when an approval was given for another change than ``change`` (approvals recorded
    before changes were shown carry no digest and bind to nothing)."""
    return any(a.digest is not None and a.digest != change.digest for a in approved)
