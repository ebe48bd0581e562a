"""The controller's crash-point loop over real Git: one commit and one pull request per promotion.

Ferryman issue 6: "Crash points between push, PR call and status write (with the controller's
crash loop): exactly one PR per (pipeline, environment, revision) and no empty commits."

Each seeded run drives the real ``Reconciler`` (fake cluster) through two releases of a
dev → staging (``git-push`` to ``main``) → prod (GitHub pull request into ``main``) pipeline, over
the smart-HTTP Git server and the fake GitHub API. One crash fires at a seeded label and
occurrence — a reconciler checkpoint, or before/after a Git or GitHub call inside a strategy —
and a fresh controller (new owner, new adapters, same on-disk Git cache) carries on. The seed
picks the label round-robin, so the default 20 runs cover every label; ``make stress`` sets
``FERRYMAN_GIT_CRASH_RUNS`` for more.

Three shapes of the second release, each asserted precisely:

- ``sequential``: the 1.1.0 pull request is merged before 1.2.0 is released; 1.2.0 gets a new
  pull request from the same branch (the merged one is never reopened or reused).
- ``overlap``: 1.2.0 reaches staging while the 1.1.0 pull request is still open; the prod
  promotion of 1.1.0 is superseded and the one open pull request is updated to 1.2.0 (force-pushed
  branch, new title), never a second one.
- ``race``: 1.2.0 is released at a random moment once 1.1.0 started into staging, so either
  promotion of 1.1.0 may be superseded before, during or after its strategy ran.
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.git import crash_story

RUNS = int(os.environ.get("FERRYMAN_GIT_CRASH_RUNS", "20"))
RELEASES = ("1.1.0", "1.2.0")
MAX_STEPS = 80
MODES = ("sequential", "overlap", "race")
# Each run promotes into staging and prod twice, except that in ``race`` the first promotion into
# either may be superseded before its strategy runs.
_CONTROLLER = {"sequential": 4, "overlap": 4, "race": 2}
_PROD_ONLY = {"sequential": 2, "overlap": 2, "race": 1}
# label -> mode -> how often every run of that mode passes the label at least; the crash's
# occurrence is drawn up to that, and a label is used only in the modes that pass it.
LABELS: tuple[tuple[str, dict[str, int]], ...] = (
    ("before-status-write", _CONTROLLER),
    ("after-status-write", _CONTROLLER),
    ("before-event", _CONTROLLER),
    ("before-promote", _CONTROLLER),
    ("after-promote", _CONTROLLER),
    ("before-result-write", _CONTROLLER),
    ("after-result-write", _CONTROLLER),
    ("after-set-markers", _CONTROLLER),
    ("after-commit", _CONTROLLER),
    ("before-push", _CONTROLLER),
    ("after-push", _CONTROLLER),
    ("after-remote-tip", _PROD_ONLY),
    ("after-find-pull-requests", _PROD_ONLY),
    ("before-create-pull-request", {"sequential": 2, "overlap": 1, "race": 1}),
    ("after-create-pull-request", {"sequential": 2, "overlap": 1, "race": 1}),
    ("after-update-pull-request", {"overlap": 1}),
)


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def git_story(tmp_path: Path, http_client: httpx.AsyncClient) -> Iterator[crash_story.GitStory]:
    """A fresh cluster, repository, Git server and fake GitHub for one run."""
    with crash_story.GitStory(tmp_path, http_client) as built:
        yield built


def pick(seed: int) -> tuple[crash_story.Crasher, str, random.Random]:
    """The crash (label round-robin, occurrence seeded), the mode and the run's randomness."""
    rng = random.Random(seed)
    label, least = LABELS[seed % len(LABELS)]
    modes = [mode for mode in MODES if mode in least]
    mode = modes[seed % len(modes)]
    return crash_story.Crasher(label, rng.randint(1, least[mode])), mode, rng


async def run_story(
    world: crash_story.GitStory, crasher: crash_story.Crasher, mode: str, rng: random.Random
) -> int:
    """Drive both releases to prod through crashes; returns the number of controller restarts."""
    generation = 0
    rec = world.reconciler(f"owner-{generation}", crasher)
    pending = list(RELEASES)
    current = pending.pop(0)
    world.release(current)
    for _ in range(MAX_STEPS):
        try:
            await rec.reconcile(crash_story.NS, crash_story.NAME)
        except crash_story.Crash:
            generation += 1
            rec = world.reconciler(f"owner-{generation}", crasher)
        if rng.random() < 0.7:
            world.flux_catch_up()
        if rng.random() < 0.6 and may_merge(world, mode, pending):
            world.merge_open_pull_requests(delete_branch=rng.random() < 0.3)
        world.clock.advance(rng.choice((1, 5, 15)))
        world.host_clock.advance(1)
        if pending and ready_for_next(world, mode, current, rng):
            current = pending.pop(0)
            world.release(current)
        if not pending and finished(world, current):
            return generation
    raise AssertionError(f"the story did not finish in {MAX_STEPS} steps: {world.status()}")


def open_titles(world: crash_story.GitStory) -> set[str]:
    """Titles of the open pull requests."""
    return {pull.title for pull in world.github.open_pulls()}


def may_merge(world: crash_story.GitStory, mode: str, pending: list[str]) -> bool:
    """Whether the reviewer merges now.

    ``sequential``: whenever a pull request is open. Otherwise only once it promotes the last
    release, so the 1.1.0 promotion into prod is the one superseded.
    """
    if mode == "sequential":
        return True
    return not pending and open_titles(world) == {crash_story.title(RELEASES[-1])}


def ready_for_next(
    world: crash_story.GitStory, mode: str, current: str, rng: random.Random
) -> bool:
    """Whether CI releases the next version now.

    ``sequential``: once prod runs the current one. ``overlap``: once prod's pull request for
    the current one is open. ``race``: at a random moment after the promotion of the current
    one into staging has started — before or after it lands, before, while or after the
    promotion into prod starts.
    """
    if mode == "sequential":
        return finished(world, current)
    if mode == "overlap":
        return crash_story.title(current) in open_titles(world)
    staging = world.status().environments.get("staging")
    record = staging.promotion if staging is not None else None
    return record is not None and record.revision == current and rng.random() < 0.5


def finished(world: crash_story.GitStory, revision: str) -> bool:
    """Prod runs ``revision`` and its promotion record says so."""
    prod = world.status().environments.get("prod")
    record = prod.promotion if prod is not None else None
    return (
        prod is not None
        and prod.revision == revision
        and record is not None
        and record.revision == revision
        and record.phase.value == "Succeeded"
    )


@pytest.mark.parametrize("seed", range(RUNS))
async def test_a_crash_anywhere_leaves_one_commit_and_one_pull_request_per_promotion(
    seed: int, git_story: crash_story.GitStory
) -> None:
    """Seeded crash in the controller or inside a strategy: no duplicate commit or PR."""
    crasher, mode, rng = pick(seed)
    world = git_story

    restarts = await run_story(world, crasher, mode, rng)

    assert crasher.fired, f"seed {seed}: the crash at {crasher.label} never happened"
    assert restarts == 1
    assert_git_history(world, mode)
    assert_pull_requests(world, mode)
    assert_status(world, mode)
    promoted = collections.Counter(
        (event["annotations"]["environment"], event["annotations"]["revision"])
        for event in world.api.events
        if event["reason"] == "Promoted"
    )
    assert max(promoted.values()) == 1, f"a promotion was announced twice: {promoted}"
    assert [event for event in world.api.events if event["warning"]] == []


def assert_git_history(world: crash_story.GitStory, mode: str) -> None:
    """One trailer commit on main per promotion that reached it, no empty commit, no leftovers.

    In ``race`` the promotion of 1.1.0 into staging may be superseded before it pushed.
    """
    on_main = collections.Counter(
        (commit.environment, commit.revision) for commit in world.promotion_commits("main")
    )
    expected = {("staging", "1.1.0"): 1, ("staging", "1.2.0"): 1, ("prod", "1.2.0"): 1}
    if mode == "sequential":
        expected[("prod", "1.1.0")] = 1
    if mode == "race" and ("staging", "1.1.0") not in on_main:
        del expected[("staging", "1.1.0")]
    assert on_main == expected
    assert world.empty_commits() == []
    branches = set(world.branches())
    assert branches <= {"main", crash_story.PROD_BRANCH}
    if crash_story.PROD_BRANCH in branches:  # unless deleted on merge
        assert world.commits_between("main", crash_story.PROD_BRANCH) == []
    for env in ("staging", "prod"):
        manifest = world.file("main", f"{env}/helmrelease.yaml")
        assert manifest == crash_story.release_manifest(env, "1.2.0")
    assert world.file("main", "README.md") == crash_story.README


def assert_pull_requests(world: crash_story.GitStory, mode: str) -> None:
    """Exactly one pull request per prod revision: adopted on retry, never created twice.

    ``sequential``: the merged 1.1.0 pull request stays as it was; 1.2.0 opens a second one from
    the same branch. ``overlap``: the open 1.1.0 pull request is retitled to 1.2.0 (one PATCH).
    ``race``: one pull request, created for 1.1.0 and retitled, or created for 1.2.0 directly.
    """
    created = [request.json()["title"] for request in world.github.calls("POST", r"/pulls$")]
    if mode == "sequential":
        assert world.pull_requests() == [
            (1, crash_story.title("1.1.0"), "merged"),
            (2, crash_story.title("1.2.0"), "merged"),
        ]
        assert created == [crash_story.title("1.1.0"), crash_story.title("1.2.0")]
        assert world.update_calls() == 0
        return
    assert world.pull_requests() == [(1, crash_story.title("1.2.0"), "merged")]
    assert len(created) == 1
    retitled = created == [crash_story.title("1.1.0")]
    if mode == "overlap":
        assert retitled
    assert world.update_calls() == (1 if retitled else 0)


def assert_status(world: crash_story.GitStory, mode: str) -> None:
    """Staging and prod succeeded at 1.2.0; history lists every promotion once, newest first."""
    st = world.status()
    for env in ("staging", "prod"):
        assert st.environments[env].revision == "1.2.0"
        record = st.environments[env].promotion
        assert record is not None and record.phase.value == "Succeeded"
        assert record.revision == "1.2.0"
    staging = st.environments["staging"].promotion
    assert staging is not None
    if staging.result is not None:  # None when Flux applied it before the result was written
        [commit] = [
            c.sha
            for c in world.promotion_commits("main")
            if (c.environment, c.revision) == ("staging", "1.2.0")
        ]
        assert staging.result.commit == commit
    prod = st.environments["prod"].promotion
    assert prod is not None
    if prod.result is not None and prod.result.number is not None:
        assert prod.result.number == (2 if mode == "sequential" else 1)
    history = [(h.environment, h.revision, h.phase.value) for h in st.history]
    if mode == "sequential":
        assert history == [
            ("prod", "1.2.0", "Succeeded"),
            ("staging", "1.2.0", "Succeeded"),
            ("prod", "1.1.0", "Succeeded"),
            ("staging", "1.1.0", "Succeeded"),
        ]
    elif mode == "overlap":
        assert history == [
            ("prod", "1.2.0", "Succeeded"),
            ("prod", "1.1.0", "Superseded"),
            ("staging", "1.2.0", "Succeeded"),
            ("staging", "1.1.0", "Succeeded"),
        ]
    else:
        assert len(set(history)) == len(history), f"a promotion ended twice: {history}"
        succeeded = [entry for entry in history if entry[2] == "Succeeded"]
        last = [("prod", "1.2.0", "Succeeded"), ("staging", "1.2.0", "Succeeded")]
        assert succeeded in (last, [*last, ("staging", "1.1.0", "Succeeded")])
        assert set(history) - set(succeeded) <= {
            ("staging", "1.1.0", "Superseded"),
            ("prod", "1.1.0", "Superseded"),
        }
        assert ("staging", "1.1.0") in {(env, revision) for env, revision, _ in history}
