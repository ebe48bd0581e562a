"""What ``decide()`` asks the reconciler to do after it has written the status.

Actions are values: the reconciler ``match``es on them and carries them out. ``Promote`` always
follows a status write that records the ``Promoting`` intent (crash safety, DESIGN §4);
``Preview`` only reads (it may repeat); ``Notify`` records a Kubernetes Event for a real
transition, never for a no-op pass. ``Check`` carries out one step of a verification check: a
``start`` (create Jobs, call a webhook) follows the write of its intent, an ``observe`` only
reads (it may repeat).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Promote:
    """Carry out the promotion of ``revision`` into ``environment`` (intent already in status)."""

    environment: str
    source: str
    revision: str
    attempt: int
    strategy: str


@dataclass(frozen=True)
class Preview:
    """Render the change promoting ``revision`` into ``environment`` would make, for approvers
    (a read: nothing is written but the result, into the record)."""

    environment: str
    source: str
    revision: str
    strategy: str


@dataclass(frozen=True)
class Notify:
    """Record a Kubernetes Event for a real transition."""

    environment: str
    revision: str
    reason: str
    message: str
    warning: bool = False
    actor: str | None = None


@dataclass(frozen=True)
class Check:
    """One step of the check ``check`` of ``environment``'s verification of ``revision`` (run
    ``run``): ``start`` makes something (its intent, the check's ``nextAt`` lease, is already in
    status) and ``observe`` reads (measure, read Jobs or commit statuses)."""

    environment: str
    revision: str
    run: int
    check: str
    kind: str  # prometheus, job, webhook, commitStatus
    step: str  # START or OBSERVE
    commit: str = ""  # commitStatus: the commit that promoted the revision

    @property
    def reads(self) -> bool:
        """True for a step that only reads (safe to repeat)."""
        return self.step == OBSERVE


START = "start"
OBSERVE = "observe"

Action = Promote | Preview | Notify | Check
