"""The faults the chaos harness injects, each a real thing done to a real process or server.

=====================  =====================================================================
kind                   what happens
=====================  =====================================================================
controller-kill        SIGKILL a random running replica; restarted 0.5-3 s later
leader-kill            SIGKILL the replica holding the Lease; restarted 0.5-3 s later
controller-pause       SIGSTOP the leader for longer than the lease (lease + 1-3 s), SIGCONT
apiserver-kill         kill -9 the API server; restarted on the same port 0.3-2 s later
api-conflict           the next 1-3 Pipeline status writes answer 409
api-error              the next 1-4 requests on Pipelines, Leases, HelmReleases, Events or
                       Secrets answer 500 or 503
api-slow               the next 1-5 requests on Pipelines or Leases take 0.5-2.5 s
api-watch-drop         every watch stream ends (half the time after compacting: resumes get 410)
host-error             the next 1-3 fake GitHub requests answer 500, 502 or 503
host-rate-limit        the next 1-2 fake GitHub requests answer 429 with Retry-After: 1-3
host-timeout           a pull request call outlives the step timeout: half the time it hangs
                       and fails, half the time it is carried out and answered too late
=====================  =====================================================================

Git host faults wait for a request to hit them, and only the prod promotion calls the host, a
few times a minute: so one is armed at a time and it is withdrawn unhit after 10 s (30 s for a
timeout, which needs a pull request call) — otherwise armed faults pile up and the host simply
never answers, which tests nothing but the retry backoff.

``Injector.inject(kind)`` returns a one-line description, or ``None`` when the kind cannot apply
right now (no leader to pause, the API server is down for an API fault, ...); the scheduler then
draws again. Restarts and resumes are scheduled as tasks and always happen — ``heal`` finishes
them and clears every armed fault before the run settles.
"""

from __future__ import annotations

import asyncio
import random
import re
import urllib.error
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from tests.rig import gitworld, processes

from fakes.githosts import base as fake_base

WEIGHTS: dict[str, int] = {
    "controller-kill": 3,
    "leader-kill": 2,
    "controller-pause": 2,
    "apiserver-kill": 1,
    "api-conflict": 2,
    "api-error": 2,
    "api-slow": 2,
    "api-watch-drop": 2,
    "host-error": 2,
    "host-rate-limit": 2,
    "host-timeout": 1,
}
_IDENTITY = re.compile(r"Controller started identity=(\S+)")
PIPELINE_STATUS = r"/pipelines/[^/]+/status$"
API_OBJECTS = r"/(pipelines|leases|helmreleases|events|secrets)(/|$)"


def identity(controller: processes.Controller) -> str:
    """The identity of the controller's current start ("" until it logged it)."""
    found = _IDENTITY.findall(controller.log())
    return found[-1] if found else ""


class Injector:
    """Does one fault of a kind to the running system (see module doc)."""

    def __init__(
        self,
        *,
        rng: random.Random,
        api: processes.ApiServer,
        controllers: Sequence[processes.Controller],
        world: gitworld.GitWorld,
        leader: Callable[[], Coroutine[Any, Any, str]],
        lease_duration: float,
        step_timeout: float,
    ) -> None:
        self.rng = rng
        self.api = api
        self.controllers = list(controllers)
        self.world = world
        self._leader = leader
        self.lease_duration = lease_duration
        self.step_timeout = step_timeout
        self.api_down = False
        self.down: set[str] = set()  # replicas killed and not yet restarted
        self.paused: set[str] = set()
        self.tasks: list[asyncio.Task[None]] = []  # restarts and resumes: always completed
        self.timers: list[asyncio.Task[None]] = []  # withdrawals of unhit host faults
        self.host_hits = 0  # Git host faults that met a request (counted when cleared)

    # ------------------------------------------------------------------ processes

    def _alive(self) -> list[processes.Controller]:
        return [c for c in self.controllers if c.name not in self.down | self.paused]

    async def _leader_process(self) -> processes.Controller | None:
        holder = await self._leader()
        for controller in self._alive():
            if holder and identity(controller) == holder:
                return controller
        return None

    def _kill(self, controller: processes.Controller) -> str:
        self.down.add(controller.name)
        controller.kill()
        delay = self.rng.uniform(0.5, 3.0)
        self.tasks.append(asyncio.ensure_future(self._restart(controller, delay)))
        return f"SIGKILL {controller.name} ({identity(controller)}), restart in {delay:.1f}s"

    async def _restart(self, controller: processes.Controller, delay: float) -> None:
        await asyncio.sleep(delay)
        controller.start()
        self.down.discard(controller.name)

    async def controller_kill(self) -> str | None:
        alive = self._alive()
        return self._kill(self.rng.choice(alive)) if alive else None

    async def leader_kill(self) -> str | None:
        target = await self._leader_process()
        return self._kill(target) if target is not None else None

    async def controller_pause(self) -> str | None:
        target = await self._leader_process()
        if target is None or self.paused:
            return None
        duration = self.lease_duration + self.rng.uniform(1.0, 3.0)
        self.paused.add(target.name)
        target.pause()
        self.tasks.append(asyncio.ensure_future(self._resume(target, duration)))
        return f"SIGSTOP {target.name} ({identity(target)}) for {duration:.1f}s"

    async def _resume(self, controller: processes.Controller, duration: float) -> None:
        await asyncio.sleep(duration)
        controller.resume()
        self.paused.discard(controller.name)

    async def apiserver_kill(self) -> str | None:
        if self.api_down:
            return None
        self.api_down = True
        self.api.kill()
        delay = self.rng.uniform(0.3, 2.0)
        self.tasks.append(asyncio.ensure_future(self._restart_api(delay)))
        return f"kill -9 apiserver, restart in {delay:.1f}s"

    async def _restart_api(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await asyncio.to_thread(self.api.start)
        self.api_down = False

    # ------------------------------------------------------------------ the API server

    async def _rule(self, **rule: Any) -> bool:
        if self.api_down:
            return False
        try:
            await asyncio.to_thread(self.api.add_fault, **rule)
        except (urllib.error.URLError, OSError):
            return False
        return True

    async def api_conflict(self) -> str | None:
        count = self.rng.randint(1, 3)
        armed = await self._rule(verb="PUT", path_regex=PIPELINE_STATUS, code=409, count=count)
        return f"409 on the next {count} Pipeline status writes" if armed else None

    async def api_error(self) -> str | None:
        count, code = self.rng.randint(1, 4), self.rng.choice([500, 503])
        armed = await self._rule(path_regex=API_OBJECTS, code=code, count=count)
        return f"{code} on the next {count} requests" if armed else None

    async def api_slow(self) -> str | None:
        count, latency = self.rng.randint(1, 5), self.rng.randint(500, 2500)
        armed = await self._rule(
            path_regex=r"/(pipelines|leases)(/|$)", latency_ms=latency, count=count
        )
        return f"{latency} ms on the next {count} Pipeline/Lease requests" if armed else None

    async def api_watch_drop(self) -> str | None:
        if self.api_down:
            return None
        compact = self.rng.random() < 0.5
        try:
            await asyncio.to_thread(self.api.drop_watches, compact=compact)
        except (urllib.error.URLError, OSError):
            return None
        return "compacted and dropped every watch" if compact else "dropped every watch"

    # ------------------------------------------------------------------ the Git host

    def _host_armed(self) -> bool:
        """A Git host fault is still waiting for its requests."""
        pending = [f for f in self.world.github.faults if f.times is None or f.hits < f.times]
        return bool(pending) or any(rule.hits < rule.count for rule in self.world.late)

    def _arm(self, fault: fake_base.Fault | gitworld.LateAnswer, ttl: float) -> None:
        rules: list[Any] = (
            self.world.late if isinstance(fault, gitworld.LateAnswer) else self.world.github.faults
        )
        rules.append(fault)
        self.timers.append(asyncio.ensure_future(self._withdraw(rules, fault, ttl)))

    async def _withdraw(self, rules: list[Any], fault: Any, ttl: float) -> None:
        await asyncio.sleep(ttl)
        if fault in rules:
            rules.remove(fault)
            self.host_hits += fault.hits

    async def host_error(self) -> str | None:
        if self._host_armed():
            return None
        count, code = self.rng.randint(1, 3), self.rng.choice([500, 502, 503])
        self._arm(fake_base.Fault(status=code, body={"message": "Server Error"}, times=count), 10)
        return f"fake GitHub answers {code} to the next {count} requests"

    async def host_rate_limit(self) -> str | None:
        if self._host_armed():
            return None
        count, wait = self.rng.randint(1, 2), self.rng.randint(1, 3)
        fault = fake_base.Fault(
            status=429,
            body={"message": "API rate limit exceeded"},
            headers={"Retry-After": str(wait)},
            times=count,
        )
        self._arm(fault, 10)
        return f"fake GitHub answers 429 Retry-After: {wait} to the next {count} requests"

    async def host_timeout(self) -> str | None:
        if self._host_armed():
            return None
        delay = self.step_timeout + 1.0
        method = self.rng.choice(["POST", "PATCH"])
        if self.rng.random() < 0.5:
            fault = fake_base.Fault(
                status=504,
                body={"message": "Gateway Timeout"},
                method=method,
                path_pattern=r"/pulls",
                times=1,
                hang_seconds=delay,
            )
            self._arm(fault, 30)
            return f"the next {method} of a pull request hangs {delay:.1f}s and fails"
        self._arm(gitworld.LateAnswer(method, r"/pulls", delay), 30)
        return f"the next {method} of a pull request is carried out, answered {delay:.1f}s late"

    # ------------------------------------------------------------------ dispatch and healing

    async def inject(self, kind: str) -> str | None:
        """Do one fault of ``kind``; its description, or ``None`` when it cannot apply now."""
        method: Callable[[], Coroutine[Any, Any, str | None]] = getattr(
            self, kind.replace("-", "_")
        )
        return await method()

    async def heal(self) -> None:
        """Finish pending restarts and resumes, start anything down, clear every armed fault."""
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        for timer in self.timers:
            timer.cancel()
        await asyncio.gather(*self.timers, return_exceptions=True)
        self.timers.clear()
        if not self.api.running:
            await asyncio.to_thread(self.api.start)
            self.api_down = False
        for controller in self.controllers:
            if controller.stopped:
                controller.resume()
            if not controller.running:
                controller.start()
        self.down.clear()
        self.paused.clear()
        await asyncio.to_thread(self.api.clear_faults)
        self.host_hits += sum(f.hits for f in self.world.github.faults)
        self.host_hits += sum(rule.hits for rule in self.world.late)
        self.world.github.faults.clear()
        self.world.late.clear()
