"""Fencing: a replica that is not the leader performs no side effect.

Leader election alone does not stop a deposed leader: a process paused by a GC stall, a frozen VM
or SIGSTOP wakes up believing it still leads and carries on from where it stopped — possibly in
the middle of a strategy, with the new leader already running the same promotion. Three layers
keep it from acting, from the coarsest to the finest:

1. The manager cancels in-flight reconciles when leadership is lost (``manager.Manager``).
2. Before each irreversible step — a push, a pull request created or updated, an event
   delivered — ``Guard.step`` passes the step's checkpoint and then checks the ``Fence``: this
   instance leads and its last renewal started less than the renew deadline ago
   (``leader.LeaderElector.holds``). A paused process fails this check the moment it wakes, before
   its event loop has noticed anything. The step itself is bounded by ``step_timeout``.
3. ``decide()`` takes over another owner's ``Promoting`` intent only when this instance may
   (``may_take_over``: it holds the Lease, or runs without leader election).

What remains is a pause *after* the check of layer 2 and before the step's request leaves the
process: that one step can overlap with the new leader. Without a pause, a deposed leader's last
step ends at most renew deadline + step timeout after its last renewal; when that is within the
lease (the defaults: 10 + 5 = 15 s; ``settings.timing_problems`` insists on a step timeout shorter
than the lease) a successor — who must wait the whole lease — never overlaps it. Either way the
step is idempotent by its keys (deterministic branch, PR adopted by head, fast-forward-only push,
event named by pipeline uid, environment and revision), so the overlap is harmless.
``docs/architecture.md`` ("Fencing") states the bound.

``Deposed`` is raised when the fence fails; the manager requeues the key (no backoff) and nothing
records an outcome, so the record stays ``Promoting`` for the leader to resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from ferryman.domain import errors

T = TypeVar("T")

Checkpoint = Callable[[str], None]


def no_checkpoint(label: str) -> None:
    """The checkpoint of a production process that is not under test: does nothing."""
    del label


class Deposed(Exception):
    """This instance no longer leads (or cannot prove it does): stop before the next side effect.

    Deliberately neither a ``PromotionError`` nor a ``KubernetesError``: nothing on the way up
    may turn it into an outcome (a failed attempt) or a retry with backoff.
    """


@dataclass(frozen=True)
class Fence:
    """Whether this instance may perform side effects now."""

    holds: Callable[[], bool]

    def check(self, step: str) -> None:
        """Raise ``Deposed`` unless this instance may act."""
        if not self.holds():
            raise Deposed(f"not the leader (or the last lease renewal is too old) before {step}")


def _always() -> bool:
    return True


UNFENCED: Final = Fence(_always)  # no leader election: the only replica always may act


class Guard:
    """Runs each irreversible step: checkpoint, fence, the step within its timeout, checkpoint."""

    def __init__(
        self,
        *,
        fence: Fence = UNFENCED,
        checkpoint: Checkpoint = no_checkpoint,
        step_timeout: float = 5.0,
    ) -> None:
        self.fence = fence
        self._checkpoint = checkpoint
        self._timeout = step_timeout

    def checkpoint(self, label: str) -> None:
        """Pass a named checkpoint (tests stop the process at one)."""
        self._checkpoint(label)

    async def step(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run the irreversible step ``name``; ``before-<name>``/``after-<name>`` around it.

        The checkpoint comes before the fence, so a process stopped at ``before-<name>`` and
        resumed after losing the lease is caught by the fence. A step that outlives the step
        timeout is cancelled and reported as a ``TemporaryError`` (the next attempt is idempotent).
        """
        self._checkpoint(f"before-{name}")
        self.fence.check(name)
        try:
            async with asyncio.timeout(self._timeout):
                result = await call()
        except TimeoutError as exc:
            raise errors.TemporaryError(
                f"{name} did not finish within {self._timeout:g}s (the step timeout)",
                reason="StepTimeout",
            ) from exc
        self._checkpoint(f"after-{name}")
        return result
