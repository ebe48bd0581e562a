"""Secrets never leak: not into logs, exception text, results, or any git process's argv.

A wrapper placed in front of the real git records every argv it is started with; the
promotions run with logging at DEBUG, once succeeding and once failing on each credential.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fakes.promotions import PASSWORD, TOKEN, World, make_request

from ferryman.adapters import gitrepo
from ferryman.domain import errors


def _recording_git(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "git-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec git "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, log


@pytest.mark.parametrize("kind", ["github", "azure-devops"])
async def test_token_and_password_never_leak(
    make_world: Callable[..., World],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """Success and both failure kinds: logs, errors, results and argv hold no secret."""
    caplog.set_level(logging.DEBUG)
    world = make_world(kind)
    wrapper, argv_log = _recording_git(tmp_path)
    world.workspaces = gitrepo.GitRepositories(
        cache_dir=tmp_path / "wrapped", git_binary=str(wrapper)
    )
    texts: list[str] = []

    result = await world.pull_requests().promote(make_request(world.strategy_spec()))
    texts.append(result.model_dump_json())
    good = dict(world.secrets.data["git"])
    for broken in ({"password": b"bad-password-41"}, {"token": b"bad-token-42"}):
        world.secrets.data["git"] = {**good, **broken}
        with pytest.raises(errors.PromotionError) as raised:
            await world.pull_requests().promote(make_request(world.strategy_spec(), "6.2.0"))
        texts.append(str(raised.value))
        texts.append(repr(raised.value.__cause__))

    argv = argv_log.read_text()
    assert "push" in argv and "fetch" in argv  # the wrapper really saw the git calls
    everything = "\n".join([caplog.text, argv, *texts])
    for secret in (PASSWORD, TOKEN, "bad-password-41", "bad-token-42"):
        assert secret not in everything
