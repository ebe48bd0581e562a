"""Ports to Git repositories and hosting services, for the git-push and pull-request strategies.

Two outside systems, two ports:

- ``GitWorkspaces`` opens a ``GitWorkspace``: a working copy of one branch of one repository,
  fetched and reset to the remote before every use, in which the strategy patches markers, commits
  and pushes. The adapter runs the git CLI; credentials never reach argv, URLs, logs or errors.
- ``GitHost`` is one repository on a hosting service (GitHub, GitLab, Bitbucket Server, Azure
  DevOps, Gitea): find, create and update pull requests, and read a commit's statuses (for
  ``commitStatus`` verification checks). Every provider has the same methods.

Both raise only ``domain.errors.TemporaryError`` / ``PermanentError`` (their messages never carry a
secret), so the strategies need no knowledge of the git CLI or of HTTP.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ferryman.domain import changes


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What the credentials Secret holds; ``repr`` never shows a value.

    The keys are Flux's (``fluxcd/pkg`` ``git.NewAuthOptions``), so a GitRepository's Secret works
    as it is: ``username``/``password`` or ``bearerToken`` for Git over HTTPS, ``ca.crt`` (older
    ``caFile``) and ``tls.crt``/``tls.key`` for TLS, ``identity``/``known_hosts`` for SSH with
    ``password`` as the key's passphrase. Ferryman adds ``token`` for the hosting API (also the
    Git password over HTTPS when no password is given). ``source`` names where they came from
    (``Secret "ns/name"``) for error messages; it is not secret.
    """

    username: str | None = dataclasses.field(default=None, repr=False)
    password: str | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    identity: str | None = dataclasses.field(default=None, repr=False)
    known_hosts: str | None = dataclasses.field(default=None, repr=False)
    bearer_token: str | None = dataclasses.field(default=None, repr=False)
    ca: str | None = dataclasses.field(default=None, repr=False)
    client_cert: str | None = dataclasses.field(default=None, repr=False)
    client_key: str | None = dataclasses.field(default=None, repr=False)
    source: str = "the credentials Secret"

    @classmethod
    def from_secret(cls, data: Mapping[str, bytes], *, source: str = "") -> Credentials:
        """The credentials in a Secret's decoded ``data`` (unknown keys are ignored)."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return value.decode("utf-8").strip("\r\n") if value else None

        return cls(
            username=text("username"),
            password=text("password"),
            token=text("token"),
            identity=text("identity"),
            known_hosts=text("known_hosts"),
            bearer_token=text("bearerToken"),
            ca=text("ca.crt") or text("caFile"),  # ca.crt wins, as in Flux
            client_cert=text("tls.crt"),
            client_key=text("tls.key"),
            source=source or cls.source,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so adapters can scrub them from any text they pass on."""
        values = (self.password, self.token, self.identity, self.bearer_token, self.client_key)
        return tuple(value for value in values if value)


@dataclasses.dataclass(frozen=True)
class Author:
    """Name and e-mail address written as author and committer of promotion commits."""

    name: str = "Ferryman"
    email: str = "ferryman@localhost"


class PushOutcome(enum.Enum):
    """What happened to a push."""

    PUSHED = "pushed"  # the remote branch now points at the pushed commit
    UP_TO_DATE = "up-to-date"  # the remote branch already pointed there; nothing was sent
    REJECTED = "rejected"  # non-fast-forward or a failed lease: someone else moved the branch


class GitWorkspace(Protocol):
    """A working copy of ``branch`` of ``url``, at the remote's tip when opened.

    A workspace is used by one promotion at a time (``GitWorkspaces.open`` serialises users of the
    same repository and branch), so its methods need no locking of their own.
    """

    url: str
    branch: str

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        """Set every scalar marked for ``token`` in tracked YAML files to ``revision``.

        Returns the changed files (repository-relative, sorted); empty when every marked scalar
        already reads ``revision``. Raises ``PermanentError`` (reason ``MarkerNotFound``) when no
        tracked YAML file carries a marker for ``token``, and (reason ``InvalidMarker``) naming
        file and line when a marker cannot be applied.
        """
        ...

    async def marker_changes(
        self, *, token: str, revision: str
    ) -> tuple[changes.MarkerChange, ...]:
        """What ``set_markers`` would change, without changing anything (a preview for
        approvers). Raises as ``set_markers`` does."""
        ...

    async def commit(self, message: str) -> str:
        """Commit all changes to tracked files on the current ``HEAD``; returns the commit SHA.

        Pre: ``set_markers`` changed something (an empty commit is never made: it raises
        ``PermanentError``).
        """
        ...

    async def head(self) -> str:
        """The SHA ``HEAD`` points at."""
        ...

    async def push(self, *, branch: str, lease: str | None = None) -> PushOutcome:
        """Push ``HEAD`` to ``branch`` on the remote.

        ``lease=None`` pushes as a fast-forward (rejected when the remote moved on). A ``lease``
        force-pushes only if the remote branch is still at that SHA (``""``: must not exist yet).
        """
        ...

    async def remote_tip(self, branch: str) -> str | None:
        """The SHA ``branch`` points at on the remote now, ``None`` when it does not exist."""
        ...

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        """Whether ``tip`` (where ``remote_branch`` points on the remote, from ``remote_tip``)
        has exactly ``commit``'s parents and tree.

        That is: a push of ``commit`` would change nothing a reader of the branch can see, so an
        earlier attempt already pushed this change (no second push needed).
        """
        ...

    async def find_commit(self, trailers: Mapping[str, str]) -> str | None:
        """The newest commit on the branch whose message has all ``trailers`` (key: value).

        Searches a bounded stretch of recent history (the adapter deepens a shallow clone).
        """
        ...

    async def reset(self) -> None:
        """Fetch the branch again and make the working copy equal to the remote's tip."""
        ...


class GitWorkspaces(Protocol):
    """Opens workspaces from a per-repository cache."""

    def open(
        self, url: str, branch: str, credentials: Credentials
    ) -> AbstractAsyncContextManager[GitWorkspace]:
        """A workspace for ``branch`` of ``url``, fetched and reset to the remote tip.

        Raises ``PermanentError`` (``RepositoryNotFound``, ``BranchNotFound``,
        ``CredentialsInvalid``) or ``TemporaryError`` (network, timeouts). Concurrent users of the
        same repository and branch wait for each other.
        """
        ...


class PullRequestState(enum.Enum):
    """Where a pull request stands."""

    OPEN = "open"  # can still be merged; Ferryman adopts and updates it
    MERGED = "merged"  # its change reached the base branch
    CLOSED = "closed"  # closed (declined, abandoned) without merging


@dataclasses.dataclass(frozen=True)
class PullRequest:
    """A pull request (merge request) as the strategies need it."""

    number: int
    url: str  # the page a person opens, not the API URL
    state: PullRequestState
    head: str  # branch name, without refs/heads/
    base: str
    title: str
    body: str = ""
    version: int | None = None  # optimistic-lock version (Bitbucket Server needs it to update)
    # Reviewers' user names, where an update must send the whole set back (Bitbucket Server
    # treats the update's reviewers as the new full set).
    reviewers: tuple[str, ...] = ()


class CommitState(enum.Enum):
    """A commit status or check as a verification check reads it, whatever the provider says."""

    PENDING = "pending"  # queued, running, not reported yet
    SUCCESS = "success"  # passed (GitHub's neutral and skipped check runs count as passed)
    FAILURE = "failure"  # failed, errored, cancelled, timed out


@dataclasses.dataclass(frozen=True)
class CommitStatus:
    """One status (context) or check run of a commit."""

    context: str  # GitHub/Gitea context or check name, GitLab job name, Bitbucket key, ...
    state: CommitState
    description: str = ""


class GitHost(Protocol):
    """One repository on a Git hosting service. Every provider module has these methods.

    All methods raise ``TemporaryError`` for 5xx, timeouts and rate limits (``delay`` from
    ``Retry-After`` or the rate-limit reset) and ``PermanentError`` with a reason
    (``CredentialsInvalid``, ``PermissionDenied``, ``RepositoryNotFound``, ``ValidationFailed``)
    for requests that cannot succeed as they are.
    """

    async def find_pull_requests(self, *, head: str, base: str) -> list[PullRequest]:
        """Every pull request (open, merged, closed) from ``head`` into ``base``, newest first."""
        ...

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> PullRequest:
        """Open a pull request from ``head`` into ``base``. Pre: none is open for the pair."""
        ...

    async def update_pull_request(
        self, pull_request: PullRequest, *, title: str, body: str
    ) -> PullRequest:
        """Set the title and description of an open pull request; returns it as updated."""
        ...

    async def commit_statuses(self, commit: str) -> list[CommitStatus]:
        """The latest status of every context (and check run) reported for ``commit``, one per
        context; empty when nothing reported yet."""
        ...


class GitHosts(Protocol):
    """Builds the ``GitHost`` for a repository URL and provider type (``github``, ``gitlab``, …)."""

    def host(
        self,
        kind: str,
        url: str,
        *,
        token: str,
        server_url: str | None = None,
        ca: str | None = None,
    ) -> GitHost:
        """The host for ``url`` (HTTPS or SSH; ``server_url`` names the service's base URL when
        the repository URL cannot, ``ca`` is an extra trusted CA certificate in PEM).

        Raises ``PermanentError`` (``InvalidRepositoryURL``) when the URL does not name a
        repository of that provider, or uses plain HTTP off loopback."""
        ...
