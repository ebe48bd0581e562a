"""A stage for real-process scenarios: one pipeline, its repository, Flux, a reviewer, controllers.

``Stage.open`` builds, on an already running ``processes.ApiServer``, everything one pipeline
needs in its own namespaces (so one API server can host many scenarios): the Git server with its
fake GitHub (``gitworld``), the CRDs/RBAC/Secret/Pipeline (``cluster``), the local Flux and the
Promote-event follower (``flux``) and, unless told otherwise, a reviewer that merges every open
pull request. Controllers are added with ``controller()`` and started by the test, which decides
when to kill, freeze or restart them.

The crash-point matrix, the fencing and race tests and the chaos harness all run on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from tests.integration.kube import Kube
from tests.rig import cluster, flux, gitworld, processes

from ferryman.embedded import flux as local_flux

HELM = "helm.toolkit.fluxcd.io/v2"


class Stage:
    """One pipeline's world around real controller processes (see module doc)."""

    def __init__(
        self,
        api: processes.ApiServer,
        root: Path,
        *,
        namespace: str,
        name: str,
        envs: Sequence[cluster.Env],
    ) -> None:
        self.api = api
        self.root = root
        self.namespace = namespace
        self.name = name
        self.envs = tuple(envs)
        self.world = gitworld.GitWorld(
            root / "git", namespace=namespace, pipeline=name, environments=self.env_names
        )
        self.kube = Kube(api.kubeconfig_path)
        self.observer = cluster.Observer(self.kube, namespace=namespace, name=name)
        self.http = httpx.AsyncClient()
        self.approver = cluster.Approver(self.http, namespace=namespace, name=name)
        self.controllers: list[processes.Controller] = []
        self.merged: list[int] = []

    @property
    def env_names(self) -> list[str]:
        return [env.name for env in self.envs]

    @property
    def git_envs(self) -> list[str]:
        """Environments Flux applies from Git (everything but notification targets)."""
        return [env.name for env in self.envs if env.strategy != "notification"]

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        api: processes.ApiServer,
        root: Path,
        *,
        namespace: str,
        name: str = "podinfo",
        envs: Sequence[cluster.Env],
        reviewer: bool = True,
    ) -> AsyncIterator[Stage]:
        """Build the stage, run Flux (and the reviewer) for the block, stop everything after."""
        stage = cls(api, root, namespace=namespace, name=name, envs=envs)
        stage.world.start()
        tasks: list[asyncio.Future[Any]] = []
        try:
            await stage._install()
            async with flux.running(
                stage.world,
                api.kubeconfig_path,
                git_envs=stage.git_envs,
                follow_events=len(stage.git_envs) < len(stage.envs),
            ):
                if reviewer:
                    tasks.append(asyncio.ensure_future(stage._review()))
                yield stage
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for controller in stage.controllers:
                controller.terminate(timeout=10)
            stage.world.stop()
            await stage.http.aclose()
            await stage.kube.close()

    async def _install(self) -> None:
        namespaces = [self.namespace, *(self.world.env_namespace(e) for e in self.env_names)]
        await cluster.install(self.kube, namespaces=namespaces)
        # HelmReleases Flux does not apply from Git (notification targets) start at the
        # initial version too: one sync of their directories, then the event follower owns them.
        others = [e for e in self.env_names if e not in self.git_envs]
        if others:
            seeding = flux.local_flux(self.world, self.api.kubeconfig_path, others)
            await seeding.sync()
            await _drain(seeding)
        await cluster.add_pipeline(
            self.kube, self.world, self.envs, namespace=self.namespace, name=self.name
        )

    async def _review(self) -> None:
        while True:
            self.merged += await asyncio.to_thread(self.world.merge_open_pull_requests)
            await asyncio.sleep(0.3)

    # ------------------------------------------------------------------ controllers

    def controller(
        self,
        name: str,
        *,
        flags: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        watch_own_namespace: bool = True,
    ) -> processes.Controller:
        """A controller process for this stage (not started)."""
        own = ["--namespace", self.namespace] if watch_own_namespace else []
        controller = processes.Controller(
            name,
            self.root / "logs",
            kubeconfig=self.api.kubeconfig_path,
            flags=[*own, "--workers", "2", *flags],
            env=env,
        )
        self.controllers.append(controller)
        return controller

    # ------------------------------------------------------------------ the story

    async def release(self, version: str) -> None:
        """CI releases ``version`` to the first environment."""
        await asyncio.to_thread(self.world.release, version, self.env_names[0])

    async def running(self, env: str) -> tuple[str, bool] | None:
        """(chart version, ready) of ``env``'s HelmRelease, ``None`` when unreadable."""
        try:
            obj = await self.kube.get(HELM, "HelmRelease", self.world.env_namespace(env), "podinfo")
        except (httpx.HTTPError, KeyError, OSError):
            return None
        history = (obj.get("status") or {}).get("history") or [{}]
        conditions = (obj.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return str(history[0].get("chartVersion", "")), ready

    async def settled(self, version: str) -> bool:
        """Every environment runs ``version`` ready and no promotion record is unfinished."""
        for env in self.env_names:
            if await self.running(env) != (version, True):
                return False
        records = await self.observer.records()
        if records is None:
            return False
        return all(record.phase.finished for record in records.values())


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 60.0, what: str = "condition"
) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g}s")
        await asyncio.sleep(0.1)


async def _drain(applier: local_flux.LocalFlux) -> None:
    """Wait until the applier has reported everything it applied ready."""
    while not applier.idle:
        applier.changed.clear()
        with contextlib.suppress(TimeoutError):  # a report may land between check and clear
            await asyncio.wait_for(applier.changed.wait(), timeout=0.2)
