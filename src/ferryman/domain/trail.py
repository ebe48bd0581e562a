"""The full promotion trail, read back from Git: where it is, what is part of it, one page of it.

Status keeps the newest 20 history entries (DESIGN §3); every promotion commit Ferryman writes
carries trailers (``naming.commit_message``: ``Ferryman-Pipeline``, ``Ferryman-Environment``,
``Ferryman-Revision``, ``Approved-by``, ``Ferryman-Approved-By``, ``Ferryman-Change-Digest``), so
the whole trail can be read back from the Pipeline's repositories:

- ``sources``: the (repository, branch) pairs promotions land on — a ``git-push`` strategy's
  branch, a ``pull-request`` strategy's base branch (its commits arrive there once merged with
  their messages) — for every environment promoted into, each pair once;
- ``entry``: a commit is part of the trail when its ``Ferryman-Pipeline`` trailer names the
  pipeline and it names an environment and a revision;
- ``page``: newest first, ``per_page`` at a time, saying whether older ones exist and whether a
  repository had more commits than were read (``MAX_COMMITS``), so a reader knows the trail may
  go back further.

Pure: the commits come in as values (``ports.history`` reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ferryman.api import pipeline
from ferryman.domain import policy

PAGE_SIZE: Final = 50
MAX_COMMITS: Final = 2000  # commits read per repository and branch, newest first
PIPELINE_TRAILER: Final = "Ferryman-Pipeline"


@dataclass(frozen=True)
class Source:
    """A branch promotions land on, and the Secret with its credentials (if any)."""

    url: str
    branch: str
    secret: str | None = None


@dataclass(frozen=True)
class Commit:
    """A commit as the trail needs it: identity, time, subject and trailers (in order)."""

    sha: str
    committed: datetime
    subject: str
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Entry:
    """One promotion found in Git."""

    sha: str
    at: datetime
    environment: str
    revision: str
    approved_by: tuple[str, ...]
    change_digest: str
    source: Source


@dataclass(frozen=True)
class Page:
    """``entries`` of page ``number`` (1 is the newest); ``older``: a next page exists;
    ``truncated``: a repository had more than ``MAX_COMMITS`` commits, not all were read."""

    entries: tuple[Entry, ...]
    number: int
    per_page: int
    older: bool
    truncated: bool


def sources(spec: pipeline.PipelineSpec) -> tuple[Source, ...]:
    """Every branch a promotion of this pipeline lands on, once each, in environment order."""
    found: list[Source] = []
    for environment in spec.environments[1:]:
        strategy = policy.effective(spec, environment).strategy
        if strategy is None:
            continue
        if strategy.git_push is not None:
            ref = strategy.git_push.secret_ref
            secret = ref.name if ref is not None else None
            source = Source(strategy.git_push.url, strategy.git_push.branch, secret)
        elif strategy.pull_request is not None:
            spec_pr = strategy.pull_request
            source = Source(spec_pr.url, spec_pr.base_branch, spec_pr.secret_ref.name)
        else:
            continue
        if source not in found:
            found.append(source)
    return tuple(found)


def notifies_only(spec: pipeline.PipelineSpec) -> bool:
    """Whether every promotion is a ``notification`` (no Git commit, so no Git trail)."""
    names = {policy.effective(spec, env).strategy_name for env in spec.environments[1:]}
    return names == {"notification"}


def entry(commit: Commit, *, pipeline_key: str, source: Source) -> Entry | None:
    """The promotion ``commit`` records for ``pipeline_key`` (``<ns>/<name>``), else ``None``."""
    values: dict[str, list[str]] = {}
    for key, value in commit.trailers:
        values.setdefault(key.lower(), []).append(value.strip())
    if values.get(PIPELINE_TRAILER.lower(), [""])[0] != pipeline_key:
        return None
    environment = values.get("ferryman-environment", [""])[0]
    revision = values.get("ferryman-revision", [""])[0]
    if not environment or not revision:
        return None
    named = values.get("ferryman-approved-by")
    if named:
        approvers = tuple(name.strip() for name in named[0].split(",") if name.strip())
    else:
        approvers = tuple(values.get("approved-by", []))
    return Entry(
        sha=commit.sha,
        at=commit.committed,
        environment=environment,
        revision=revision,
        approved_by=approvers,
        change_digest=values.get("ferryman-change-digest", [""])[0],
        source=source,
    )


def page(
    entries: Iterable[Entry], number: int, *, per_page: int = PAGE_SIZE, truncated: bool = False
) -> Page:
    """Page ``number`` (from 1; less is 1) of ``entries``, newest first (ties by commit)."""
    chosen = max(number, 1)
    ordered: Sequence[Entry] = sorted(entries, key=lambda e: (e.at, e.sha), reverse=True)
    start = (chosen - 1) * per_page
    shown = tuple(ordered[start : start + per_page])
    return Page(
        entries=shown,
        number=chosen,
        per_page=per_page,
        older=len(ordered) > start + per_page,
        truncated=truncated,
    )
