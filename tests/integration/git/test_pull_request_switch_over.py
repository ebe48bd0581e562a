"""Pull requests across the switch-over from the original pipeline-controller.

The original opened its pull request from ``promotion-<ns>-<pipeline>-<env>`` with a description
holding ``<ns>/<pipeline>/<env>`` (weaveworks/pipeline-controller
``server/strategy/pullrequest/pullrequest.go``); Weave GitOps Enterprise lists a pipeline's open
pull requests by that text (weave-gitops-enterprise ``pkg/pipelines/server/list_prs.go``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.fakes import gitserver
from tests.fakes.promotions import World, make_request

ORIGINAL = "promotion-flux-system-podinfo-prod"
ORIGINAL_BODY = """<details>
<summary>metadata</summary>
!!! DO NOT EDIT !!!

flux-system/podinfo/prod
</details>"""


@pytest.fixture(params=["github", "gitlab"])
def world(request: pytest.FixtureRequest, make_world: Callable[..., World]) -> World:
    return make_world(request.param)


def open_original_pull_request(world: World) -> int:
    """What the original controller left: its branch and an open pull request from it."""
    main = gitserver.branches(world.bare)["main"]
    gitserver.git("--git-dir", str(world.bare), "update-ref", f"refs/heads/{ORIGINAL}", main)
    pull = world.fake.add(
        head=ORIGINAL,
        base="main",
        title="Promote flux-system/podinfo in prod to 6.0.1",
        body=ORIGINAL_BODY,
    )
    assert pull is not None
    return pull.number


async def test_the_description_names_namespace_pipeline_and_environment(world: World) -> None:
    """WGE's open-PR listing finds Ferryman's pull request by ``<ns>/<name>/<env>``."""
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    assert result.number is not None
    assert "flux-system/podinfo/prod" in world.fake.pulls[result.number].body


async def test_an_open_pull_request_of_the_original_controller_is_adopted(world: World) -> None:
    """No second pull request: the original's is updated with the promotion and retitled."""
    number = open_original_pull_request(world)
    created = world.fake.created
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    assert world.fake.created == created
    assert [p.number for p in world.fake.open_pulls()] == [number] == [result.number]
    assert result.branch == ORIGINAL
    assert gitserver.branches(world.bare)[ORIGINAL] == result.commit
    adopted = world.fake.pulls[number]
    assert adopted.title == "Promote podinfo to prod: 6.1.0"
    assert "flux-system/podinfo/prod" in adopted.body
    again = await world.pull_requests().promote(make_request(world.strategy_spec()))
    assert again == result
    assert world.fake.created == created


async def test_once_the_original_pull_request_is_closed_ferryman_uses_its_own_branch(
    world: World,
) -> None:
    """Only an open one is adopted; a closed one is history."""
    number = open_original_pull_request(world)
    world.fake.close(number)
    created = world.fake.created
    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    assert result.branch == "ferryman/flux-system/podinfo/prod"
    assert world.fake.created == created + 1
