"""``ports.history.CommitLog`` over the git CLI: the newest commits of a branch, with trailers.

Each (URL, branch) gets one cached bare repository (``<cache>/<hash>``: no URL text becomes a
path), fetched shallowly to ``limit + 1`` commits — one more than asked, to know whether older
ones exist — and read with ``git log``, every commit's trailers unfolded. Everything runs through
``gitrepo.GitRunner`` (clean environment, timeout, killed process group, scrubbed errors), and
credentials reach git only through ``gitcredentials``' askpass environment, as for the
strategies' workspaces. Users of the same cache entry wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ferryman.adapters import gitcredentials, gitrepo
from ferryman.domain import errors, trail
from ferryman.ports import git

_FORMAT: Final = "--format=%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x1e"


def parse_log(text: str) -> tuple[trail.Commit, ...]:
    """``git log`` output in ``_FORMAT`` as commits (lines that do not parse are skipped)."""
    found: list[trail.Commit] = []
    for record in text.split("\x1e"):
        fields = record.strip("\n").split("\0")
        if len(fields) != 4 or not fields[0]:
            continue
        sha, seconds, subject, block = fields
        try:
            committed = datetime.fromtimestamp(int(seconds), tz=UTC)
        except ValueError:
            continue
        trailers = tuple(
            (key.strip(), value.strip())
            for key, sep, value in (line.partition(":") for line in block.splitlines())
            if sep and key.strip()
        )
        found.append(trail.Commit(sha=sha, committed=committed, subject=subject, trailers=trailers))
    return tuple(found)


class GitCommitLog:
    """Reads branch histories into a cache directory (implements ``ports.history.CommitLog``)."""

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        git_binary: str = "git",
        timeout: float = gitrepo.DEFAULT_TIMEOUT,
    ) -> None:
        root = (cache_dir or Path(tempfile.mkdtemp(prefix="ferryman-history-"))).absolute()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._root = root
        self._runner = gitrepo.GitRunner(home=root / "home", git_binary=git_binary, timeout=timeout)
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, url: str, branch: str) -> Path:
        """The cache entry of (``url``, ``branch``)."""
        digest = hashlib.sha256(f"{url}\0{branch}".encode()).hexdigest()[:24]
        return self._root / "repos" / digest

    async def recent(
        self, url: str, branch: str, credentials: git.Credentials, *, limit: int
    ) -> tuple[tuple[trail.Commit, ...], bool]:
        path = self.path_for(url, branch)
        async with self._locks.setdefault(path, asyncio.Lock()):
            with gitcredentials.environment(
                url, credentials, askpass=self._runner.askpass
            ) as extra:
                run = _Runner(self._runner, path, extra, credentials)
                await run.prepare(url)
                await run.fetch(url, branch, depth=limit + 1)
                listed = await run.git(
                    "log", f"-n{limit + 1}", _FORMAT, f"refs/remotes/origin/{branch}"
                )
        commits = parse_log(listed)
        return commits[:limit], len(commits) <= limit


class _Runner:
    """git in one cache entry with one set of credentials."""

    def __init__(
        self,
        runner: gitrepo.GitRunner,
        path: Path,
        env: dict[str, str],
        credentials: git.Credentials,
    ) -> None:
        self._runner = runner
        self._path = path
        self._env = env
        self._secrets: Sequence[str] = credentials.secrets()
        self._source = credentials.source

    async def git(self, *args: str) -> str:
        done = await self._runner.run(
            *args, cwd=self._path, env=self._env, secrets=self._secrets, source=self._source
        )
        return done.stdout

    async def prepare(self, url: str) -> None:
        if (self._path / "HEAD").is_file():
            return
        self._path.mkdir(parents=True, exist_ok=True, mode=0o700)
        await self.git("init", "-q", "--bare")
        await self.git("remote", "add", "origin", gitcredentials.remote_url(url))

    async def fetch(self, url: str, branch: str, *, depth: int) -> None:
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        with contextlib.suppress(FileNotFoundError):
            (self._path / "shallow.lock").unlink()  # left behind by a killed fetch
        try:
            await self.git("fetch", "-q", "--no-tags", f"--depth={depth}", "origin", refspec)
        except errors.PermanentError as exc:
            if exc.reason == "BranchNotFound":
                where = gitcredentials.scrub(url, self._secrets)
                raise errors.PermanentError(
                    f'branch "{branch}" does not exist in {where}', reason="BranchNotFound"
                ) from exc
            raise
