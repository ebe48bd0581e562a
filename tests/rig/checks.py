"""End-of-run checks read from Git and the fake host, never from Ferryman's status.

- ``duplicates``: promotion commits on ``main`` per (environment, revision) beyond the first,
  pull requests per (environment, revision) beyond the first, and commits that change nothing
  (an empty commit is a promotion applied twice).
- ``lost_approvals``: for every revision that reached an environment through a commit on
  ``main``, each approval the approval API answered 202 for must appear as an ``Approved-by``
  trailer of that commit (and in the pull request's description when there is one).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable

from tests.rig import gitworld


@dataclasses.dataclass
class Finding:
    """A count and the lines that explain it."""

    count: int = 0
    details: list[str] = dataclasses.field(default_factory=list)

    def add(self, count: int, detail: str) -> None:
        self.count += count
        self.details.append(detail)


def empty_commits(world: gitworld.GitWorld) -> list[str]:
    """Non-merge commits on any branch whose tree equals their parent's."""
    listed = world.git("log", "--all", "--no-merges", "--format=%H %T %P")
    trees, parents = {}, {}
    for line in listed.splitlines():
        sha, tree, *rest = line.split()
        trees[sha], parents[sha] = tree, rest
    return [
        sha for sha, ps in parents.items() if ps and ps[0] in trees and trees[ps[0]] == trees[sha]
    ]


def duplicates(world: gitworld.GitWorld) -> Finding:
    """Everything that shows a promotion applied more than once (see module doc)."""
    found = Finding()
    for (env, revision), n in sorted(world.commits_per_promotion().items()):
        if n > 1:
            found.add(n - 1, f"{n} promotion commits on main for {env} {revision}")
    pulls = collections.Counter((pr.environment, pr.revision) for pr in world.pull_requests())
    for (env, revision), n in sorted(pulls.items()):
        if n > 1:
            found.add(n - 1, f"{n} pull requests for {env} {revision}")
    for sha in empty_commits(world):
        found.add(1, f"commit {sha[:12]} changes nothing")
    return found


def promotions(world: gitworld.GitWorld) -> int:
    """Promotions that reached Git: commits on ``main`` plus pull requests that never merged."""
    merged = {(c.environment, c.revision) for c in world.promotion_commits()}
    unmerged = {
        (pr.environment, pr.revision)
        for pr in world.pull_requests()
        if (pr.environment, pr.revision) not in merged
    }
    return len(merged) + len(unmerged)


def lost_approvals(world: gitworld.GitWorld, given: Iterable[tuple[str, str, str]]) -> Finding:
    """Approvals (environment, revision, user) answered 202 but missing where Git records them.

    Approvals of a revision that never reached the environment through ``main`` (superseded
    before its promotion) have no Git record to check; ``moot`` counts them.
    """
    found = Finding()
    commits = {(c.environment, c.revision): c for c in world.promotion_commits()}
    pulls = {(pr.environment, pr.revision): pr for pr in world.pull_requests()}
    for env, revision, user in sorted(set(given)):
        commit = commits.get((env, revision))
        if commit is None:
            continue
        if user not in commit.approved_by:
            found.add(1, f"{user}'s approval of {revision} into {env} is not in {commit.sha[:12]}")
        pull = pulls.get((env, revision))
        if pull is not None and user not in pull.approvers:
            found.add(1, f"{user}'s approval of {revision} is not in pull request #{pull.number}")
    return found


def moot(world: gitworld.GitWorld, given: Iterable[tuple[str, str, str]]) -> int:
    """Approvals of revisions that never reached their environment through ``main``."""
    reached = {(c.environment, c.revision) for c in world.promotion_commits()}
    return sum(1 for env, revision, _ in set(given) if (env, revision) not in reached)
