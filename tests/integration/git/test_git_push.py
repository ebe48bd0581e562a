"""The git-push strategy and the git workspace adapter over real Git (smart HTTP and local).

Byte-exact repository diffs after a promotion, the missing-marker error, idempotency after a
crash after the push, non-fast-forward retries, local repositories without a Secret, wrong
credentials, and a hanging git killed at its timeout.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fakes import gitserver
from tests.fakes.promotions import APPROVAL, FILES, HELMRELEASE, KUSTOMIZATION, World, make_request

from ferryman.adapters import gitrepo
from ferryman.api import pipeline
from ferryman.controller.strategies import git_push
from ferryman.domain import errors
from ferryman.ports import git


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world("github")


async def test_only_the_marked_scalars_change_byte_for_byte(world: World) -> None:
    """HelmRelease and Kustomization: the prod markers change; other pipelines' do not."""
    result = await world.git_push().promote(make_request(world.push_spec(), approvals=(APPROVAL,)))

    assert result.branch == "main"
    assert result.url is None
    assert result.commit == gitserver.branches(world.bare)["main"]
    expected_helm = HELMRELEASE.replace(
        b'version: "6.0.0" # {"$promotion": "flux-system:podinfo:prod"}',
        b'version: "6.1.0" # {"$promotion": "flux-system:podinfo:prod"}',
    )
    expected_kustomization = KUSTOMIZATION.replace(
        b'newTag: 6.0.0 # {"$promotion": "flux-system:podinfo:prod"}',
        b'newTag: 6.1.0 # {"$promotion": "flux-system:podinfo:prod"}',
    )
    assert gitserver.show(world.bare, "main", "apps/prod/helmrelease.yaml") == expected_helm
    assert (
        gitserver.show(world.bare, "main", "apps/prod/kustomization.yml") == expected_kustomization
    )
    for name in ("apps/staging/helmrelease.yaml", "README.md"):  # other env; not YAML
        assert gitserver.show(world.bare, "main", name) == FILES[name]
    changed = gitserver.git("--git-dir", str(world.bare), "diff", "--name-only", "main~1", "main")
    assert changed.split() == ["apps/prod/helmrelease.yaml", "apps/prod/kustomization.yml"]
    message = gitserver.log(world.bare, "main", fmt="%B")[0:12]
    assert "Ferryman-Pipeline: flux-system/podinfo" in message
    assert "Ferryman-Environment: prod" in message
    assert "Ferryman-Revision: 6.1.0" in message
    assert "Approved-by: alice" in message


async def test_a_repeat_after_a_crash_after_push_returns_the_existing_commit(world: World) -> None:
    """The change is on the branch already: no empty commit; the commit found by its trailers."""
    strategy = world.git_push()
    first = await strategy.promote(make_request(world.push_spec()))
    gitserver.commit_files(world.bare, {"unrelated.txt": b"someone else\n"})

    again = await strategy.promote(make_request(world.push_spec()))

    assert again.commit == first.commit
    assert len(gitserver.log(world.bare, "main")) == 3  # initial, promotion, unrelated


async def test_no_marker_is_a_clear_permanent_error(world: World) -> None:
    """A pipeline without markers in the repository cannot be promoted there."""
    request = make_request(world.push_spec(), name="unknown")

    with pytest.raises(errors.PermanentError) as raised:
        await world.git_push().promote(request)

    assert raised.value.reason == "MarkerNotFound"
    assert str(raised.value) == (
        f'no "$promotion" marker for flux-system:unknown:prod in {world.url}@main'
    )


class RacingWorkspaces:
    """Someone else pushes to the branch right before each of the first ``races`` pushes."""

    def __init__(self, inner: gitrepo.GitRepositories, bare: Path, races: int) -> None:
        self._inner = inner
        self._bare = bare
        self.races = races

    def open(self, url: str, branch: str, credentials: git.Credentials) -> object:
        context = self._inner.open(url, branch, credentials)
        outer = self

        class Racing:
            async def __aenter__(self) -> object:
                workspace = await context.__aenter__()
                push = workspace.push

                async def racing_push(**kwargs: object) -> git.PushOutcome:
                    if outer.races > 0:
                        outer.races -= 1
                        name = f"other-{outer.races}.txt"
                        await asyncio.to_thread(gitserver.commit_files, outer._bare, {name: b"x\n"})
                    return await push(**kwargs)  # type: ignore[arg-type]

                workspace.push = racing_push  # type: ignore[method-assign]
                return workspace

            async def __aexit__(self, *exc: object) -> object:
                return await context.__aexit__(*exc)  # type: ignore[arg-type]

        return Racing()


async def test_a_non_fast_forward_push_is_retried_on_the_new_tip(world: World) -> None:
    """Another writer's commit stays; the marker change is re-applied on top of it."""
    racing = RacingWorkspaces(world.workspaces, world.bare, races=2)
    strategy = git_push.GitPushStrategy(workspaces=racing, secrets=world.secrets)  # type: ignore[arg-type]

    result = await strategy.promote(make_request(world.push_spec()))

    subjects = gitserver.log(world.bare, "main", fmt="%s")
    assert subjects[:3] == ["Promote podinfo to prod: 6.1.0", "Change", "Change"]
    assert result.commit == gitserver.branches(world.bare)["main"]


async def test_a_branch_that_keeps_moving_is_a_temporary_error(world: World) -> None:
    """After the bounded number of rejected pushes the attempt gives up, to be retried later."""
    racing = RacingWorkspaces(world.workspaces, world.bare, races=git_push.MAX_PUSH_ATTEMPTS)
    strategy = git_push.GitPushStrategy(workspaces=racing, secrets=world.secrets)  # type: ignore[arg-type]

    with pytest.raises(errors.TemporaryError) as raised:
        await strategy.promote(make_request(world.push_spec()))

    assert raised.value.reason == "PushRejected"


async def test_a_local_repository_needs_no_secret(tmp_path: Path) -> None:
    """The no-cluster demo pushes to a bare repository given by path, without credentials."""
    bare = gitserver.create_bare(tmp_path / "demo.git", FILES)
    spec = pipeline.Strategy.model_validate({"git-push": {"url": str(bare), "branch": "main"}})
    strategy = git_push.GitPushStrategy(
        workspaces=gitrepo.GitRepositories(cache_dir=tmp_path / "cache"), secrets=_NoSecrets()
    )

    result = await strategy.promote(make_request(spec))

    assert result.commit == gitserver.branches(bare)["main"]
    shown = gitserver.show(bare, "main", "apps/prod/helmrelease.yaml")
    assert b'version: "6.1.0"' in shown


class _NoSecrets:
    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        raise AssertionError("no Secret should be read")


async def test_wrong_credentials_are_a_permanent_error_without_the_password(world: World) -> None:
    """A 401 from the Git server means CredentialsInvalid; the password is nowhere in it."""
    world.secrets.data["git"] = {"username": b"deploy-bot", "password": b"wrong-password-123"}

    with pytest.raises(errors.PermanentError) as raised:
        await world.git_push().promote(make_request(world.push_spec()))

    assert raised.value.reason == "CredentialsInvalid"
    assert "wrong-password-123" not in str(raised.value)


async def test_a_missing_branch_is_named(world: World) -> None:
    """Promoting to a branch that does not exist says which branch and where."""
    with pytest.raises(errors.PermanentError) as raised:
        await world.git_push().promote(make_request(world.push_spec(branch="release")))

    assert raised.value.reason == "BranchNotFound"
    assert str(raised.value) == f'branch "release" does not exist in {world.url}'


async def test_a_hanging_git_is_killed_at_its_timeout(tmp_path: Path) -> None:
    """The whole process group goes, child processes included; the error is temporary."""
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "hanging-git"
    script.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pid_file}\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    runner = gitrepo.GitRunner(home=tmp_path / "home", git_binary=str(script), timeout=0.5)

    with pytest.raises(errors.TemporaryError) as raised:
        await runner.run("fetch", cwd=tmp_path, env={}, secrets=())

    assert raised.value.reason == "GitTimeout"
    assert _gone_or_zombie(int(pid_file.read_text()))


def _gone_or_zombie(pid: int) -> bool:
    """Whether ``pid`` no longer runs (an orphan may linger as a zombie until init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")
