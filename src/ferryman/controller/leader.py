"""Leader election on a ``coordination.k8s.io/v1`` Lease (client-go's defaults: 15 s / 10 s / 2 s).

The holder renews every ``retry_period``; if it cannot renew for ``renew_deadline`` it steps down
(``is_leader`` false) before the lease can expire for others. Each attempt is bounded by what is
left of the renew deadline, so a hanging API server cannot keep a stale leader believing it leads.
A graceful stop releases the lease (holder cleared) so a successor takes over at once.

``holds()`` is the fence (``controller.fencing``): it is true only while this instance leads *and*
its last successful renewal started less than ``renew_deadline`` ago on the monotonic clock. A
process that was paused (a GC stall, SIGSTOP, a frozen VM) wakes up still believing it leads —
``is_leader`` is only cleared when the campaign loop runs again — but ``holds()`` is already false,
so it performs no side effect before that loop has caught up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ferryman.ports import kubernetes as k8s

log = logging.getLogger(__name__)

LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0


class LeaderElector:
    """Acquire and keep one Lease; ``leading`` is set while this instance holds it."""

    def __init__(
        self,
        store: k8s.LeaseStore,
        identity: str,
        *,
        clock: Callable[[], datetime],
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.identity = identity
        self._clock = clock
        self._monotonic = monotonic
        self._duration = lease_duration
        self._deadline = renew_deadline
        self._period = retry_period
        self.leading = asyncio.Event()
        self.following = asyncio.Event()
        self.following.set()
        self._renewed_at: float | None = None  # monotonic start of the last successful attempt

    @property
    def is_leader(self) -> bool:
        """True while this instance believes it holds the lease (see ``holds`` for the fence)."""
        return self.leading.is_set()

    @property
    def renew_deadline(self) -> float:
        """Seconds a renewal stays good for acting on."""
        return self._deadline

    def holds(self) -> bool:
        """True while this instance leads with a renewal younger than the renew deadline."""
        renewed = self._renewed_at
        return (
            self.leading.is_set()
            and renewed is not None
            and self._monotonic() - renewed < self._deadline
        )

    def _budget(self, started: float) -> float:
        """How long one attempt may take: what is left of the renew deadline while leading."""
        if self.leading.is_set() and self._renewed_at is not None:
            return max(self._deadline - (started - self._renewed_at), 0.0)
        return self._deadline

    async def _try(self, now: datetime) -> bool:
        current = await self._store.get()
        mine = k8s.Lease(
            holder=self.identity,
            acquired=now,
            renewed=now,
            duration_seconds=int(self._duration),
            transitions=0,
        )
        if current is None:
            await self._store.create(mine)
            return True
        if current.holder == self.identity:
            await self._store.update(
                k8s.Lease(
                    holder=self.identity,
                    acquired=current.acquired or now,
                    renewed=now,
                    duration_seconds=int(self._duration),
                    transitions=current.transitions,
                    resource_version=current.resource_version,
                )
            )
            return True
        renewed = current.renewed or current.acquired
        expired = (
            current.holder is None
            or renewed is None
            or now >= renewed + timedelta(seconds=current.duration_seconds)
        )
        if not expired:
            return False
        await self._store.update(
            k8s.Lease(
                holder=self.identity,
                acquired=now,
                renewed=now,
                duration_seconds=int(self._duration),
                transitions=current.transitions + 1,
                resource_version=current.resource_version,
            )
        )
        return True

    async def run(self) -> None:
        """Campaign and renew until cancelled."""
        while True:
            # Taken before the request: the renewal is dated no later than the Lease's renewTime.
            started, now = self._monotonic(), self._clock()
            try:
                async with asyncio.timeout(self._budget(started)):
                    held = await self._try(now)
            except (k8s.KubernetesError, TimeoutError) as exc:
                why = str(exc) or "no answer within the renew deadline"
                log.info("Lease attempt failed identity=%s error=%s", self.identity, why)
                if self.leading.is_set() and not self.holds():
                    log.warning("Lost leadership identity=%s (cannot renew)", self.identity)
                    self._step_down()
            else:
                if held:
                    self._renewed_at = started
                    if not self.leading.is_set():
                        log.info("Became leader identity=%s", self.identity)
                    self.leading.set()
                    self.following.clear()
                elif self.leading.is_set():
                    log.warning("Lost leadership identity=%s (lease taken)", self.identity)
                    self._step_down()
            await asyncio.sleep(self._period)

    def _step_down(self) -> None:
        self._renewed_at = None
        self.leading.clear()
        self.following.set()

    async def release(self) -> None:
        """Give the lease up (graceful stop) so another instance can lead at once."""
        if not self.leading.is_set():
            return
        self._step_down()
        try:
            current = await self._store.get()
            if current is not None and current.holder == self.identity:
                await self._store.update(
                    k8s.Lease(
                        holder=None,
                        acquired=None,
                        renewed=None,
                        duration_seconds=1,
                        transitions=current.transitions,
                        resource_version=current.resource_version,
                    )
                )
        except k8s.KubernetesError as exc:
            log.info("Could not release lease identity=%s error=%s", self.identity, exc)
