"""Crash points for real processes: SIGKILL (or SIGSTOP) this process at the n-th pass of a label.

``FERRYMAN_CRASH_AT=<label>:<n>[:KILL|STOP]`` (``Settings.crash_at``) turns the controller's
checkpoints — the reconciler's (``before-status-write``, ``after-promote``, …) and the guarded
steps inside the strategies (``before-push``, ``after-create-pull-request``, …) — into a kill
switch for tests: at the n-th time the label is passed the process signals itself. SIGKILL ends it
on the spot (no ``finally``, no ``async with`` exit, no temporary-directory clean-up, the Lease
left held), which an exception raised in-process can never imitate; SIGSTOP freezes it, so a test
can let its Lease expire and then SIGCONT it, as a GC stall or a frozen VM would.

Production processes never set the variable; the checkpoint is then ``fencing.no_checkpoint``.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

from ferryman.controller import fencing

log = logging.getLogger(__name__)

SIGNALS = {"KILL": signal.SIGKILL, "STOP": signal.SIGSTOP}


@dataclass
class CrashAt:
    """Signal this process at the ``occurrence``-th pass of ``label`` (once)."""

    label: str
    occurrence: int
    signum: signal.Signals = signal.SIGKILL
    seen: collections.Counter[str] = field(default_factory=collections.Counter)
    fired: bool = False

    def __call__(self, label: str) -> None:
        self.seen[label] += 1
        if self.fired or label != self.label or self.seen[label] != self.occurrence:
            return
        self.fired = True
        log.warning(
            "Crash point reached label=%s pass=%d signal=%s",
            label,
            self.occurrence,
            self.signum.name,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), self.signum)


def parse(spec: str) -> CrashAt:
    """``<label>:<n>[:KILL|STOP]`` as a ``CrashAt``. Raises ``ValueError`` when malformed."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit() or int(parts[1]) < 1:
        raise ValueError(f"FERRYMAN_CRASH_AT must be <checkpoint>:<n>[:KILL|STOP], got {spec!r}")
    name = parts[2].upper() if len(parts) == 3 else "KILL"
    if name not in SIGNALS:
        raise ValueError(f"FERRYMAN_CRASH_AT signal must be KILL or STOP, got {parts[2]!r}")
    return CrashAt(parts[0], int(parts[1]), SIGNALS[name])


def checkpoint(spec: str | None) -> fencing.Checkpoint:
    """The checkpoint a process runs with: a ``CrashAt`` under test, else one that does nothing."""
    return parse(spec) if spec else fencing.no_checkpoint
