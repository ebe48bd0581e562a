"""Leader election on a ``coordination.k8s.io/v1`` Lease (client-go's defaults: 15 s / 10 s / 2 s).

The holder renews every ``retry_period``; if it cannot renew for ``renew_deadline`` it steps down
(``is_leader`` false) before the lease can expire for others, so two instances never both believe
they lead. A graceful stop releases the lease (holder cleared) so a successor takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
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
    ) -> None:
        self._store = store
        self.identity = identity
        self._clock = clock
        self._duration = lease_duration
        self._deadline = renew_deadline
        self._period = retry_period
        self.leading = asyncio.Event()
        self.following = asyncio.Event()
        self.following.set()
        self._last_renew: datetime | None = None

    @property
    def is_leader(self) -> bool:
        """True while this instance holds the lease."""
        return self.leading.is_set()

    async def _try(self) -> bool:
        now = self._clock()
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
            now = self._clock()
            try:
                held = await self._try()
            except k8s.KubernetesError as exc:
                log.info("Lease attempt failed identity=%s error=%s", self.identity, exc)
                lapsed = self._last_renew is None or (
                    now - self._last_renew >= timedelta(seconds=self._deadline)
                )
                if lapsed and self.leading.is_set():
                    log.warning("Lost leadership identity=%s (cannot renew)", self.identity)
                    self._step_down()
            else:
                if held:
                    self._last_renew = now
                    if not self.leading.is_set():
                        log.info("Became leader identity=%s", self.identity)
                    self.leading.set()
                    self.following.clear()
                elif self.leading.is_set():
                    log.warning("Lost leadership identity=%s (lease taken)", self.identity)
                    self._step_down()
            await asyncio.sleep(self._period)

    def _step_down(self) -> None:
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
