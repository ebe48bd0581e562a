"""Crash points in real processes: ``ferryman controller`` SIGKILLs itself at the n-th pass of a
checkpoint, is restarted, and every promotion still happens exactly once.

The pipeline is dev → qa (notification) → staging (git-push to ``main``) → prod (GitHub pull
request into ``main``), against the embedded API server process, git http-backend and the fake
GitHub. The story runs in pairs of releases: the first opens the prod pull request, the second
arrives while it is open (so the pull request is updated), then the reviewer merges it. Each pair
passes every reconciler checkpoint several times, each strategy step at least once per pair:
push 4x, send-event 2x, create-pull-request 1x, update-pull-request 1x. The story stops after the
pair in which the crash fired (at most three pairs, so every label x n ∈ {1, 2, 3} fires).

``FERRYMAN_CRASH_AT=<label>:<n>`` (``bootstrap.crashpoints``) makes the kill a real SIGKILL: no
``finally``, no ``async with`` exit, no clean-up of the Git working copy, the Lease-less process
simply gone; the restarted controller has a new identity. Checks, from Git, the fake GitHub and
the API server's Events: one promotion commit per (environment, revision) on ``main``, one pull
request per prod revision and exactly one creation request per pair, one ``Promote`` Event per qa
revision, no empty commit, and every environment at the last release.

``make test`` runs ``SAMPLE``; ``FERRYMAN_CRASH_MATRIX=full`` (``make stress``) runs all of
``LABELS`` x {1, 2, 3}.
"""

from __future__ import annotations

import asyncio
import collections
import os
from pathlib import Path

import pytest
from tests.rig import checks, cluster, processes, stage

ENVS = [
    cluster.Env("dev"),
    cluster.Env("qa", "notification"),
    cluster.Env("staging", "git-push"),
    cluster.Env("prod", "pull-request"),
]
LABELS = (
    # the reconciler's checkpoints
    "before-status-write",
    "after-status-write",
    "before-event",
    "before-promote",
    "after-promote",
    "before-result-write",
    "after-result-write",
    # the guarded steps inside the strategies
    "before-push",
    "after-push",
    "before-send-event",
    "after-send-event",
    "before-create-pull-request",
    "after-create-pull-request",
    "before-update-pull-request",
    "after-update-pull-request",
)
SAMPLE = (  # one reconciler checkpoint and one step of each strategy: ~10 s each
    ("after-result-write", 2),
    ("after-push", 3),
    ("before-send-event", 1),
    ("after-create-pull-request", 1),
)
FULL = os.environ.get("FERRYMAN_CRASH_MATRIX") == "full"
CASES = [(label, n) for label in LABELS for n in (1, 2, 3)] if FULL else list(SAMPLE)
MAX_PAIRS = 3


async def restart_once_killed(controller: processes.Controller, killed: asyncio.Event) -> None:
    """When the process dies by SIGKILL, start it again without the crash point."""
    await asyncio.to_thread(controller.wait)
    assert controller.returncode() == -9, controller.log()[-3000:]
    killed.set()
    controller.start(env={"FERRYMAN_CRASH_AT": ""})


async def open_pull_request_for(st: stage.Stage, revision: str) -> bool:
    pulls = await asyncio.to_thread(st.world.pull_requests)
    return any(pr.state == "open" and pr.revision == revision for pr in pulls)


async def promote_events(st: stage.Stage) -> collections.Counter[tuple[str, str]]:
    listing = await st.kube.request(
        "GET", f"/apis/events.k8s.io/v1/namespaces/{st.namespace}/events"
    )
    counted: collections.Counter[tuple[str, str]] = collections.Counter()
    for event in listing["items"]:
        if event.get("reason") == "Promote":
            notes = event["metadata"].get("annotations") or {}
            counted[(notes.get("environment", ""), notes.get("version", ""))] += 1
    return counted


async def run_pair(st: stage.Stage, pair: int) -> str:
    """Release a, wait for its pull request; release b, wait for the update; merge; settle."""
    first, second = f"1.{pair}.1", f"1.{pair}.2"
    await st.release(first)
    await stage.eventually(
        lambda: open_pull_request_for(st, first), timeout=90, what=f"a pull request for {first}"
    )
    await st.release(second)
    await stage.eventually(
        lambda: open_pull_request_for(st, second), timeout=90, what=f"the pull request at {second}"
    )
    merged = await asyncio.to_thread(st.world.merge_open_pull_requests)
    assert len(merged) == 1
    await stage.eventually(lambda: st.settled(second), timeout=90, what=f"{second} everywhere")
    return second


@pytest.mark.parametrize(("label", "occurrence"), CASES, ids=[f"{label}:{n}" for label, n in CASES])
async def test_a_sigkill_at_a_checkpoint_never_promotes_twice(
    apiserver: processes.ApiServer, tmp_path: Path, label: str, occurrence: int
) -> None:
    """SIGKILL at the n-th pass of ``label``, restart: every promotion exactly once."""
    namespace = f"crash-{LABELS.index(label)}-{occurrence}"
    async with stage.Stage.open(
        apiserver, tmp_path, namespace=namespace, envs=ENVS, reviewer=False
    ) as st:
        controller = st.controller("controller", env={"FERRYMAN_CRASH_AT": f"{label}:{occurrence}"})
        controller.start()
        killed = asyncio.Event()
        watcher = asyncio.ensure_future(restart_once_killed(controller, killed))
        try:
            pairs, last = 0, ""
            while not killed.is_set() and pairs < MAX_PAIRS:
                pairs += 1
                last = await run_pair(st, pairs)
            assert killed.is_set(), f"{label}:{occurrence} never fired in {pairs} pairs"
            await watcher
        finally:
            watcher.cancel()
        duplicates = await asyncio.to_thread(checks.duplicates, st.world)
        assert duplicates.details == []
        assert st.world.pull_request_creations() == pairs
        assert st.world.pull_request_updates() >= pairs
        commits = await asyncio.to_thread(st.world.commits_per_promotion)
        for pair in range(1, pairs + 1):
            assert commits[("staging", f"1.{pair}.1")] == 1
            assert commits[("staging", f"1.{pair}.2")] == 1
            assert commits[("prod", f"1.{pair}.2")] == 1
            assert commits[("prod", f"1.{pair}.1")] == 0  # superseded in its open PR
        events = await promote_events(st)
        assert set(events.values()) == {1}
        assert {(e, v) for e, v in events if e == "qa"} == {
            ("qa", f"1.{p}.{k}") for p in range(1, pairs + 1) for k in (1, 2)
        }
        assert await st.settled(last)
