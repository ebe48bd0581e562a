"""One chaos run: real processes, a seeded stream of faults, a stream of releases, then checks.

The system, as users run it (``tests.rig``): ``ferryman apiserver`` as its own process, two
``ferryman controller`` replicas with leader election and short leases, git http-backend with a
fake GitHub, the local Flux applying ``main``. The pipeline is dev → staging (git-push to
``main``) → prod (GitHub pull request into ``main``, two approvals from ``release-managers``).

Around it, concurrently, until ``faults`` faults were injected:

- CI releases a new version to dev every few seconds (and pokes a random replica's
  ``/promotion`` hook, as Flux's generic provider would);
- alice and bob approve each revision prod waits for, at the same moment, each through a random
  replica's approval API, retrying until each gets an answer that settles it;
- a reviewer merges each open pull request after a random delay;
- the seeded scheduler injects one fault (``faults.Injector``) every 0.5-3.5 s.

Then it heals (restarts, resumes, clears armed faults) and waits for the last release to reach
prod. The verdict comes from Git and the fake GitHub (``rig.checks``): duplicates (promotion
commits or pull requests per (environment, revision) beyond one, empty commits), lost approvals
(approvals answered 202 missing from the ``Approved-by`` trailers of the promotion commit and
from the pull request's description), and stuck releases (a release neither reached nor
overtaken in an environment, the last release not in prod, a record seen ``Failed``/
``Rejected``/``Expired``, or a record left unfinished). The seed fixes the fault plan: the kinds,
their parameters and the pauses between them; how the system's own timing interleaves with them
differs from run to run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.chaos import faults
from tests.rig import checks, cluster, processes, stage

ENVS = [
    cluster.Env("dev"),
    cluster.Env("staging", "git-push"),
    cluster.Env("prod", "pull-request", approvals=2),
]
NAMESPACE = "chaos"
FINAL = {"WaitingApproval", "Approved", "Promoting", "Promoted"}
SETTLED_REASONS = {"NotWaiting", "WrongRevision", "AlreadyDecided", "Expired"}


@dataclasses.dataclass(frozen=True)
class Options:
    """What a run does; the defaults are ``make chaos``'s."""

    seed: int
    faults: int
    root: Path
    lease_duration: int = 6
    renew_deadline: float = 4.0
    retry_period: float = 1.0
    step_timeout: float = 2.0
    fault_interval: tuple[float, float] = (0.5, 3.5)
    release_interval: tuple[float, float] = (10.0, 25.0)
    settle_timeout: float = 360.0
    hook_rate_limit: str | None = None  # "<requests>/<seconds>"; None: the controller's default

    def controller_flags(self) -> list[str]:
        flags = [
            "--leader-elect",
            "--lease-namespace",
            NAMESPACE,
            "--lease-duration",
            str(self.lease_duration),
            "--renew-deadline",
            str(self.renew_deadline),
            "--retry-period",
            str(self.retry_period),
            "--step-timeout",
            str(self.step_timeout),
        ]
        if self.hook_rate_limit is not None:
            requests, _, seconds = self.hook_rate_limit.partition("/")
            flags += [
                "--promotion-hook-rate-limit",
                requests,
                "--promotion-hook-rate-limit-interval",
                f"{seconds or 1}s",
            ]
        return flags


@dataclasses.dataclass
class Report:
    """What a run did and what the checks found."""

    seed: int
    faults: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    releases: list[str] = dataclasses.field(default_factory=list)
    promotions: int = 0
    duplicates: checks.Finding = dataclasses.field(default_factory=checks.Finding)
    lost_approvals: checks.Finding = dataclasses.field(default_factory=checks.Finding)
    stuck: checks.Finding = dataclasses.field(default_factory=checks.Finding)
    approvals_given: int = 0
    approvals_moot: int = 0
    host_fault_hits: int = 0
    elapsed: float = 0.0
    settle_seconds: float = 0.0
    hook_rate_limit: str = "the default (20 per 30s)"

    @property
    def passed(self) -> bool:
        return not (self.duplicates.count or self.lost_approvals.count or self.stuck.count)

    def lines(self) -> list[str]:
        """The human report; its last line is the one ``make chaos`` promises."""
        total = sum(self.faults.values())
        out = [f"chaos: faults by kind (seed {self.seed}):"]
        out += [f"  {kind:<18} {self.faults[kind]:>4}" for kind in faults.WEIGHTS]
        out += [
            f"  {'total':<18} {total:>4}",
            f"chaos: {len(self.releases)} releases, {self.promotions} promotions in Git, "
            f"{self.approvals_given} approvals answered 202 ({self.approvals_moot} of revisions "
            f"superseded before prod), {self.host_fault_hits} Git host faults hit, "
            f"promotion-hook rate limit {self.hook_rate_limit}",
            f"chaos: {self.elapsed:.0f}s in all, {self.settle_seconds:.0f}s to settle after the "
            "last fault",
        ]
        for name, finding in (
            ("duplicate", self.duplicates),
            ("lost approval", self.lost_approvals),
            ("stuck", self.stuck),
        ):
            out += [f"chaos: {name}: {detail}" for detail in finding.details]
        out.append(
            f"chaos: seed={self.seed} faults={total} releases={len(self.releases)} "
            f"promotions={self.promotions} duplicates={self.duplicates.count} "
            f"lost_approvals={self.lost_approvals.count} stuck={self.stuck.count}"
        )
        return out


class Chaos:
    """The drivers, the scheduler and the checks of one run (see module doc)."""

    def __init__(
        self,
        options: Options,
        st: stage.Stage,
        controllers: list[processes.Controller],
        say: Callable[[str], None],
    ) -> None:
        self.options = options
        self.st = st
        self.controllers = controllers
        self.say = say
        self.report = Report(
            options.seed,
            hook_rate_limit=options.hook_rate_limit or "the default (20 per 30s)",
        )
        self.faults_rng = random.Random(options.seed)  # the fault plan
        self.world_rng = random.Random(options.seed + 1)  # releases, approvers, reviewer
        self.injector = faults.Injector(
            rng=self.faults_rng,
            api=st.api,
            controllers=controllers,
            world=st.world,
            leader=self.leader,
            lease_duration=options.lease_duration,
            step_timeout=options.step_timeout,
        )
        self.given: set[tuple[str, str, str]] = set()
        self.approving: set[str] = set()
        self.approvers: list[asyncio.Task[None]] = []
        self.phases: set[tuple[str, str, str]] = set()
        self.journal = (options.root / "faults.log").open("a")
        self.stopping = False

    async def leader(self) -> str:
        """The Lease's holder identity ("" when unknown)."""
        try:
            lease = await self.st.kube.get(
                "coordination.k8s.io/v1", "Lease", NAMESPACE, "ferryman-controller"
            )
        except (httpx.HTTPError, KeyError, OSError):
            return ""
        return str(lease["spec"].get("holderIdentity") or "")

    # ------------------------------------------------------------------ the world around it

    async def releases(self) -> None:
        """CI: a new version to dev every few seconds, and a poke at a replica's hook."""
        while not self.stopping:
            version = f"2.{len(self.report.releases) + 1}.0"
            await self.st.release(version)
            self.report.releases.append(version)
            replica = self.world_rng.choice(self.controllers)
            event = {
                "involvedObject": {
                    "kind": "HelmRelease",
                    "name": "podinfo",
                    "namespace": self.st.world.env_namespace("dev"),
                },
                "severity": "info",
                "reason": "UpgradeSucceeded",
                "metadata": {"revision": version},
            }
            # a trigger only: when it is lost, the watch brings the change anyway
            with contextlib.suppress(httpx.HTTPError):
                await self.st.http.post(
                    f"{replica.http_url}/promotion/{NAMESPACE}/{self.st.name}/dev",
                    json=event,
                    timeout=2.0,
                )
            await asyncio.sleep(self.world_rng.uniform(*self.options.release_interval))

    async def approvals(self) -> None:
        """alice and bob approve every revision prod waits for; phases are recorded on the way."""
        while True:
            records = await self.st.observer.records()
            for env, record in (records or {}).items():
                self.phases.add((env, record.revision, record.phase.value))
            prod = (records or {}).get("prod")
            waiting = prod is not None and prod.phase.value == "WaitingApproval"
            if waiting and prod is not None and prod.revision not in self.approving:
                self.approving.add(prod.revision)
                self.approvers.append(asyncio.ensure_future(self.approve(prod.revision)))
            await asyncio.sleep(0.3)

    async def approve(self, revision: str) -> None:
        pending = {"alice", "bob"}
        while pending:
            targets = [
                (self.world_rng.choice(self.controllers).http_url, u) for u in sorted(pending)
            ]
            for verdict in await cluster.gather_approvals(
                self.st.approver, targets, "prod", revision
            ):
                if verdict.status == 202:
                    self.given.add(("prod", revision, verdict.user))
                    pending.discard(verdict.user)
                elif verdict.status in (404, 409) and verdict.reason in SETTLED_REASONS:
                    pending.discard(verdict.user)  # superseded or decided: nothing to approve
            await asyncio.sleep(self.world_rng.uniform(0.3, 1.0))

    async def reviewer(self) -> None:
        """Merges each open pull request some random time after it first saw it."""
        first_seen: dict[int, float] = {}
        while True:
            for pull in self.st.world.github.open_pulls():
                due = first_seen.setdefault(
                    pull.number, time.monotonic() + self.world_rng.uniform(0.0, 2.5)
                )
                if time.monotonic() >= due:
                    await asyncio.to_thread(self.st.world.merge_open_pull_requests)
            await asyncio.sleep(0.3)

    # ------------------------------------------------------------------ the scheduler

    async def inject(self) -> None:
        """One fault at a time until ``options.faults`` were injected."""
        kinds, weights = list(faults.WEIGHTS), list(faults.WEIGHTS.values())
        started = time.monotonic()
        while sum(self.report.faults.values()) < self.options.faults:
            await asyncio.sleep(self.faults_rng.uniform(*self.options.fault_interval))
            for _ in range(20):
                kind = self.faults_rng.choices(kinds, weights)[0]
                done = await self.injector.inject(kind)
                if done is not None:
                    break
            else:
                continue
            self.report.faults[kind] += 1
            count = sum(self.report.faults.values())
            self.journal.write(f"{time.monotonic() - started:8.1f} {count:4} {kind:<18} {done}\n")
            self.journal.flush()
            if count % 25 == 0:
                self.say(
                    f"chaos: {count}/{self.options.faults} faults, "
                    f"{len(self.report.releases)} releases, "
                    f"{time.monotonic() - started:.0f}s"
                )

    async def settle(self) -> bool:
        """Heal everything, then wait for the last release to reach prod with every record
        finished (approvals and merges go on meanwhile)."""
        self.stopping = True
        await self.injector.heal()
        last = self.report.releases[-1]
        try:
            await stage.eventually(
                lambda: self.st.settled(last),
                timeout=self.options.settle_timeout,
                what=f"{last} in every environment",
            )
        except AssertionError:
            return False
        return True

    # ------------------------------------------------------------------ the verdict

    async def verdict(self, settled: bool) -> None:
        world = self.st.world
        report = self.report
        report.duplicates = await asyncio.to_thread(checks.duplicates, world)
        report.lost_approvals = await asyncio.to_thread(checks.lost_approvals, world, self.given)
        report.approvals_given = len(self.given)
        report.approvals_moot = await asyncio.to_thread(checks.moot, world, self.given)
        report.promotions = await asyncio.to_thread(checks.promotions, world)
        report.host_fault_hits = self.injector.host_hits
        report.stuck = await asyncio.to_thread(self._stuck, settled)
        records = await self.st.observer.records() or {}
        for env, record in records.items():
            if record.phase.value in FINAL:
                owner = record.owner or "nobody"
                report.stuck.add(1, f"{env} {record.revision} left {record.phase.value} by {owner}")

    def _stuck(self, settled: bool) -> checks.Finding:
        """Releases neither reached nor overtaken, per environment, from Git; bad endings."""
        found = checks.Finding()
        reached = {(c.environment, c.revision) for c in self.st.world.promotion_commits()}
        order = self.report.releases
        for env in ("staging", "prod"):
            for index, version in enumerate(order):
                later = any((env, v) in reached for v in order[index + 1 :])
                if (env, version) not in reached and not later:
                    found.add(1, f"{version} neither reached {env} nor was overtaken there")
        for env, revision, phase in sorted(self.phases):
            if phase in ("Failed", "Rejected", "Expired"):
                found.add(1, f"{revision} ended {phase} in {env}")
        if not settled:
            found.details.append("the last release did not settle within the timeout")
        return found


async def run(options: Options, say: Callable[[str], None] = print) -> Report:
    """One chaos run in ``options.root`` (logs stay there)."""
    started = time.monotonic()
    options.root.mkdir(parents=True, exist_ok=True)
    api = processes.ApiServer(
        options.root / "api", token_file=cluster.write_token_file(options.root / "users.csv")
    )
    await asyncio.to_thread(api.start)
    try:
        async with stage.Stage.open(
            api, options.root, namespace=NAMESPACE, envs=ENVS, reviewer=False
        ) as st:
            flags = options.controller_flags()
            controllers = [st.controller(f"replica-{i}", flags=flags) for i in (0, 1)]
            for controller in controllers:
                controller.start()
            for controller in controllers:
                await controller.wait_ready()
            chaos = Chaos(options, st, controllers, say)
            say(
                f"chaos: seed={options.seed}, {options.faults} faults, logs in {options.root}, "
                f"lease {options.lease_duration}s / renew {options.renew_deadline}s / retry "
                f"{options.retry_period}s / step {options.step_timeout}s"
            )
            drivers = [
                asyncio.ensure_future(chaos.releases()),
                asyncio.ensure_future(chaos.approvals()),
                asyncio.ensure_future(chaos.reviewer()),
            ]
            try:
                await chaos.inject()
                settle_started = time.monotonic()
                settled = await chaos.settle()
                chaos.report.settle_seconds = time.monotonic() - settle_started
            finally:
                for driver in [*drivers, *chaos.approvers]:
                    driver.cancel()
                await asyncio.gather(*drivers, *chaos.approvers, return_exceptions=True)
            await chaos.verdict(settled)
            chaos.report.elapsed = time.monotonic() - started
            chaos.journal.close()
            return chaos.report
    finally:
        api.terminate()
