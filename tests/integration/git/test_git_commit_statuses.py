"""``commitStatus`` checks against each provider's fake API: the commit is the one the
pull-request strategy pushed, the statuses are reported in the provider's own words (GitHub
commit statuses and check runs, GitLab job statuses, Gitea statuses, Bitbucket Server build
results, Azure DevOps statuses), and the check follows the latest report of each context."""

from __future__ import annotations

import pytest
from tests.fakes import verification as check_fakes
from tests.fakes.promotions import TOKEN, World, make_request
from tests.unit.domain import builders as b

from ferryman.api import pipeline
from ferryman.controller.checks import commits
from ferryman.domain import actions, findings
from ferryman.ports import git

# (success, failure, pending) in each provider's vocabulary.
WORDS = {
    "github": ("success", "failure", "pending"),
    "gitlab": ("success", "failed", "running"),
    "bitbucket-server": ("SUCCESSFUL", "FAILED", "INPROGRESS"),
    "azure-devops": ("succeeded", "failed", "pending"),
    "gitea": ("success", "failure", "pending"),
}


def subject_for(world: World, *contexts: str) -> pipeline.Pipeline:
    """prod promoted by ``world``'s pull requests and verified by its commit statuses."""
    check = b.commit_checks(contexts=list(contexts))
    return b.make(
        "dev",
        "staging",
        b.environment("prod", verify=[check]),
        promotion=pipeline.Promotion(strategy=world.strategy_spec()),
    )


async def test_a_commit_check_follows_the_latest_status_of_each_context(world: World) -> None:
    """Pending, then a failure, then a re-run that passes: the check says so each time."""
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    assert result.commit
    ok, bad, waiting = WORDS[world.kind]
    subject = subject_for(world, "ci/build", "ci/e2e")
    action = actions.Check("prod", "6.1.0", 1, "ci", "commitStatus", "observe", result.commit)
    secrets = check_fakes.FakeSecrets({"git": {"token": TOKEN.encode()}})
    spec = subject.spec.environments[2].verification.checks[0]  # type: ignore[union-attr]

    async def judged() -> findings.Answer:
        return await commits.read(world.hosts, secrets, subject, action, spec)

    assert await judged() == findings.Answer(None, "waiting for ci/build, ci/e2e", "0/2", 0)
    world.fake.report(result.commit, "ci/build", waiting, "building")
    world.fake.report(result.commit, "ci/e2e", ok, "42 tests passed")
    assert await judged() == findings.Answer(None, "waiting for ci/build", "1/2", 2)
    world.fake.report(result.commit, "ci/build", bad, "compile error")
    failed = await judged()
    assert (failed.passed, failed.message) == (False, "ci/build failed: compile error")
    world.fake.report(result.commit, "ci/build", ok, "built")
    assert await judged() == findings.Answer(True, "2 status(es) succeeded", "2/2", 2)


async def test_every_context_counts_when_none_are_named(world: World) -> None:
    """Without ``contexts`` every reported one must succeed; the host's answers map to states."""
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    ok, bad, waiting = WORDS[world.kind]
    world.fake.report(result.commit or "", "lint", ok)
    world.fake.report(result.commit or "", "ci/deploy", waiting)
    host = world.hosts.host(world.kind, world.url, token=TOKEN)
    found = {s.context: s.state for s in await host.commit_statuses(result.commit or "")}
    assert found == {"lint": git.CommitState.SUCCESS, "ci/deploy": git.CommitState.PENDING}
    world.fake.report(result.commit or "", "ci/deploy", bad)
    found = {s.context: s.state for s in await host.commit_statuses(result.commit or "")}
    assert found["ci/deploy"] is git.CommitState.FAILURE


@pytest.mark.parametrize("world", ["github"], indirect=True)
async def test_github_check_runs_count_like_statuses(world: World) -> None:
    """GitHub check runs: queued is pending, neutral and skipped pass, timed_out fails."""
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    commit = result.commit or ""
    world.fake.report(commit, "build", "queued", check_run=True)
    world.fake.report(commit, "docs", "skipped", check_run=True)
    world.fake.report(commit, "security", "neutral", "no findings", check_run=True)
    host = world.hosts.host("github", world.url, token=TOKEN)
    states = {s.context: s.state for s in await host.commit_statuses(commit)}
    assert states == {
        "build": git.CommitState.PENDING,
        "docs": git.CommitState.SUCCESS,
        "security": git.CommitState.SUCCESS,
    }
    world.fake.report(commit, "build", "timed_out", check_run=True)
    judged = commits.judge(await host.commit_statuses(commit), (), commit)
    assert (judged.passed, judged.message) == (False, "build failed: timed_out")


@pytest.mark.parametrize("world", ["gitlab"], indirect=True)
async def test_gitlab_jobs_allowed_to_fail_do_not_fail_the_check(world: World) -> None:
    """A failed job with ``allow_failure`` passes, as GitLab's pipeline does."""
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    commit = result.commit or ""
    world.fake.report(commit, "flaky", "failed+allowed")
    world.fake.report(commit, "unit", "success")
    host = world.hosts.host("gitlab", world.url, token=TOKEN)
    assert commits.judge(await host.commit_statuses(commit), (), commit).passed is True
