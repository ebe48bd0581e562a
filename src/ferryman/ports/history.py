"""Port to the commit history of a branch: the promotion trail's raw material (``domain.trail``).

The adapter (``adapters.githistory``) reads it with the git CLI exactly as the strategies'
workspaces do: credentials reach git only through its askpass environment, never argv, URLs or
messages; errors are ``domain.errors.TemporaryError``/``PermanentError`` with scrubbed messages.
"""

from __future__ import annotations

from typing import Protocol

from ferryman.domain import trail
from ferryman.ports import git


class CommitLog(Protocol):
    """Reads the newest commits of one branch of one repository."""

    async def recent(
        self, url: str, branch: str, credentials: git.Credentials, *, limit: int
    ) -> tuple[tuple[trail.Commit, ...], bool]:
        """At most ``limit`` commits of ``branch``, newest first (first parent or not: as
        ``git log`` lists them), and whether that is all of them (``False``: older exist).

        Raises ``PermanentError`` (``RepositoryNotFound``, ``BranchNotFound``,
        ``CredentialsInvalid``) or ``TemporaryError`` (network, timeouts)."""
        ...
