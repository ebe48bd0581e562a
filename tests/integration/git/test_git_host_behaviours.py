"""What the real hosting services do that a naive adapter gets wrong (issue 21, items 8-14).

Each test drives the pull-request strategy over real Git against a fake drawn from the
provider's official API description (cited in each fake), set up to behave as the real service
does in the case at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.fakes import gitserver
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import azure_devops, base, bitbucket_server, gitea, gitlab
from tests.fakes.promotions import (
    APPROVAL,
    FILES,
    PASSWORD,
    TOKEN,
    USERNAME,
    Secrets,
    World,
    make_request,
)

from ferryman.adapters import githost, gitrepo
from ferryman.api import pipeline
from ferryman.controller.strategies import pull_request
from ferryman.domain import errors

BRANCH = "ferryman/flux-system/podinfo/prod"


async def test_bitbucket_updates_keep_every_reviewer(make_world: Callable[..., World]) -> None:
    """Item 8: a newer revision updates the PR; default reviewers and approvers stay."""
    world = make_world("bitbucket-server", default_reviewers=("lead",))
    fake = world.fake
    assert isinstance(fake, bitbucket_server.FakeBitbucketServer)
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec(), "6.1.0"))
    assert first.number is not None
    fake.approve(first.number, "alice")

    await strategy.promote(make_request(world.strategy_spec(), "6.2.0"))

    pull = fake.pulls[first.number]
    assert pull.title == "Promote podinfo to prod: 6.2.0"
    assert pull.reviewers == {"lead": False, "alice": True}


async def test_bitbucket_lower_case_clone_url(make_world: Callable[..., World]) -> None:
    """Item 13: the clone URL says ``/scm/ops/``; REST calls use the stored key ``OPS``."""
    world = make_world("bitbucket-server")
    assert "/scm/ops/" in world.url

    result = await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert [p.number for p in world.fake.open_pulls()] == [result.number]
    assert all("/projects/OPS/" in r.path for r in world.fake.requests)


async def test_gitea_closed_pr_with_deleted_branch_is_not_reopened(
    make_world: Callable[..., World],
) -> None:
    """Item 9: after "delete branch", ``head.ref`` is ``refs/pull/1/head``; the label matches."""
    world = make_world("gitea")
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec()))
    assert first.number is not None
    world.fake.close(first.number)
    world.fake.delete_branch(BRANCH)

    with pytest.raises(errors.PermanentError) as refused:
        await strategy.promote(make_request(world.strategy_spec()))

    assert refused.value.reason == "PullRequestClosed"
    assert world.fake.created == 1


async def test_gitea_merged_pr_with_deleted_branch_keeps_its_url(
    make_world: Callable[..., World],
) -> None:
    """Item 9: merged with "delete branch after merge": the merged PR's URL is still recorded."""
    world = make_world("gitea")
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec()))
    assert first.number is not None
    world.fake.merge(first.number, delete_branch=True)

    again = await strategy.promote(make_request(world.strategy_spec()))

    assert again.url == first.url


async def test_gitea_finds_an_open_pr_past_a_clamped_page(
    make_world: Callable[..., World],
) -> None:
    """Item 11: MAX_RESPONSE_ITEMS=5 clamps ``limit=50``; the open PR on page 2 is adopted."""
    world = make_world("gitea", max_response_items=5)
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec()))
    for index in range(7):  # newer pull requests of other branches push ours to page 2
        world.fake.pulls[index + 2] = base.Pull(
            number=index + 2,
            head=f"feature-{index}",
            base="main",
            title="x",
            body="",
            state="closed",
        )

    again = await strategy.promote(make_request(world.strategy_spec()))

    assert again.number == first.number
    assert world.fake.created == 1
    assert not world.fake.calls("POST", "/pulls$")[1:]


async def test_github_secondary_limit_without_headers_is_a_pause(
    make_world: Callable[..., World],
) -> None:
    """Item 10: 403 "secondary rate limit" with no Retry-After: temporary, at least a minute."""
    world = make_world("github", creation_limit=0, rate_limit_hint=False)

    with pytest.raises(errors.TemporaryError) as raised:
        await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert raised.value.reason == "RateLimited"
    assert raised.value.delay is not None and raised.value.delay.total_seconds() >= 60


async def test_github_already_exists_leads_to_adoption(make_world: Callable[..., World]) -> None:
    """Item 10: GitHub's 422 "A pull request already exists" is retried, then adopted."""
    world = make_world("github")
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec()))
    world.fake.faults.append(  # the list missed it (replication lag): the create call says so
        base.Fault(
            status=422,
            method="POST",
            times=1,
            body={
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for acme:{BRANCH}.",
                    }
                ],
            },
        )
    )
    world.fake.faults.append(base.Fault(status=200, body=[], method="GET", times=1))

    with pytest.raises(errors.TemporaryError) as raised:
        await strategy.promote(make_request(world.strategy_spec(), "6.2.0"))
    again = await strategy.promote(make_request(world.strategy_spec(), "6.2.0"))

    assert raised.value.reason == "Conflict"
    assert again.number == first.number
    assert world.fake.created == 1


@pytest.mark.parametrize("server", ["2019", "2020", "2022"])
async def test_azure_devops_server_versions(make_world: Callable[..., World], server: str) -> None:
    """Item 12: Server 2019/2020/2022 answer 7.1 with VssVersionOutOfRangeException; we adapt."""
    world = make_world("azure-devops", server=server)

    result = await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert [p.number for p in world.fake.open_pulls()] == [result.number]
    fake = world.fake
    assert isinstance(fake, azure_devops.FakeAzureDevOps)
    assert "7.1" not in fake.versions


async def test_azure_truncated_list_description_causes_no_update(
    make_world: Callable[..., World],
) -> None:
    """Item 12: the list cuts descriptions at 400 characters; a retry must not PATCH again."""
    world = make_world("azure-devops")
    strategy = world.pull_requests()
    approvals = tuple(
        APPROVAL.model_copy(update={"user": f"approver-{n}", "comment": "ship it " * 25})
        for n in range(3)
    )
    request = make_request(world.strategy_spec(), approvals=approvals)
    first = await strategy.promote(request)
    assert first.number is not None
    assert len(world.fake.pulls[first.number].body) > azure_devops.LIST_DESCRIPTION_LIMIT

    await strategy.promote(request)

    assert not world.fake.calls("PATCH")


async def test_azure_url_without_a_project_segment(
    tmp_path: Path, http_client: httpx.AsyncClient
) -> None:
    """Item 12: ``/<org>/_git/<repo>`` (project named like the repository) reaches the API."""
    clock = FakeClock()
    bare = gitserver.create_bare(tmp_path / "srv" / "acme" / "_git" / "deploy", FILES)
    fake = azure_devops.FakeAzureDevOps(
        organization="acme",
        project="deploy",
        repo="deploy",
        project_in_clone_url=False,
        token=TOKEN,
        clock=clock,
        repository=bare,
    )
    result = await _promote_with(tmp_path, http_client, fake, "azure-devops")
    assert [p.number for p in fake.open_pulls()] == [result.number]


async def test_gitlab_under_a_sub_path(tmp_path: Path, http_client: httpx.AsyncClient) -> None:
    """Item 14: GitLab at ``/gitlab`` (relative_url_root) is not read as a group."""
    clock = FakeClock()
    bare = gitserver.create_bare(tmp_path / "srv" / "gitlab" / "platform" / "deploy.git", FILES)
    fake = gitlab.FakeGitLab(
        project="platform/deploy", root="/gitlab", token=TOKEN, clock=clock, repository=bare
    )
    result = await _promote_with(tmp_path, http_client, fake, "gitlab")
    assert [p.number for p in fake.open_pulls()] == [result.number]


async def _promote_with(
    tmp_path: Path, client: httpx.AsyncClient, fake: base.FakeHost, kind: str
) -> pull_request.PullRequestStrategy:
    server = gitserver.GitServer(
        tmp_path / "srv", username=USERNAME, password=PASSWORD, api=fake
    ).start()
    fake.base_url = server.base_url
    url = fake.repository_url()  # type: ignore[attr-defined]
    spec = pipeline.Strategy.model_validate(
        {
            "pull-request": {
                "type": kind,
                "url": url,
                "baseBranch": "main",
                "secretRef": {"name": "git"},
            }
        }
    )
    secret = {"username": USERNAME.encode(), "password": PASSWORD.encode(), "token": TOKEN.encode()}
    strategy = pull_request.PullRequestStrategy(
        workspaces=gitrepo.GitRepositories(cache_dir=tmp_path / "cache", timeout=30),
        hosts=githost.Hosts(client),
        secrets=Secrets({"git": secret}),
    )
    try:
        return await strategy.promote(make_request(spec))  # type: ignore[return-value]
    finally:
        server.stop()


def test_gitea_fake_keeps_the_branch_name_in_the_label() -> None:
    """The fake answers as ``services/convert/pull.go`` does once the branch is gone."""
    fake = gitea.FakeGitea(owner="o", repo="r", token=TOKEN, clock=FakeClock(), repository=None)
    pull = base.Pull(number=3, head="feature", base="main", title="t", body="")
    fake.branch_exists = lambda name: False  # type: ignore[method-assign]
    assert fake.render(pull)["head"] == {"label": "feature", "ref": "refs/pull/3/head"}
