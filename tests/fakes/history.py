"""An in-memory ``ports.history.CommitLog``: commits per (URL, branch), newest first."""

from __future__ import annotations

from dataclasses import dataclass, field

from ferryman.domain import errors, trail
from ferryman.ports import git


@dataclass
class FakeCommitLog:
    """Serves ``branches[(url, branch)]``; ``broken`` URLs fail as an unreachable repository."""

    branches: dict[tuple[str, str], list[trail.Commit]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    reads: list[tuple[str, str, git.Credentials]] = field(default_factory=list)

    async def recent(
        self, url: str, branch: str, credentials: git.Credentials, *, limit: int
    ) -> tuple[tuple[trail.Commit, ...], bool]:
        self.reads.append((url, branch, credentials))
        if url in self.broken:
            raise errors.TemporaryError(f"git fetch failed: cannot reach {url}")
        found = self.branches.get((url, branch), [])
        return tuple(found[:limit]), len(found) <= limit
