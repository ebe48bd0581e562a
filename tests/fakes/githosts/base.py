"""What every fake hosting API shares: PRs in memory, auth, scripted faults, a creation limit.

A provider module subclasses ``FakeHost`` and implements ``route`` (its documented endpoints,
request validation and JSON shapes). Everything lives on the instance — two fakes never share a
pull request. Faults are scripted in order of ``faults``: each has a predicate, an answer and a
count or a time window on the shared ``FakeClock``; ``hang`` stalls the request until the server
stops or ``hang_seconds`` pass. ``creation_limit`` enforces GitHub's documented secondary rate
limit shape (at most N content-creating requests per sliding minute; a 403 with Retry-After
otherwise — or, with ``rate_limit_hint=False``, a 403 with only the message, as GitHub's docs
say can happen: docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).

Strictness: each fake checks request bodies against the fields its provider documents
(required fields missing → the provider's own error). Unknown fields are refused too, in the
provider's error shape; real services mostly ignore them silently, so this is stricter than
the service on purpose: a field the provider does not know is an adapter bug that would
otherwise pass unnoticed.
"""

from __future__ import annotations

import abc
import dataclasses
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes import gitserver
from tests.fakes.clock import FakeClock

CREATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclasses.dataclass
class Fault:
    """A scripted answer for requests matching ``method``/``path_pattern``."""

    status: int = 502
    body: Any = dataclasses.field(default_factory=lambda: {"message": "Bad Gateway"})
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    method: str | None = None
    path_pattern: str = ""
    times: int | None = None  # answer this many times, or
    until: float | None = None  # until this fake time (the outage window)
    hang_seconds: float = 0.0  # stall first (a hanging provider)
    hits: int = 0

    def matches(self, request: gitserver.Request, now: float) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.path_pattern and not re.search(self.path_pattern, request.path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return self.until is None or now < self.until


@dataclasses.dataclass
class Pull:
    """A pull request, provider-neutral; each fake renders it in its own JSON shape."""

    number: int
    head: str
    base: str
    title: str
    body: str
    state: str = "open"  # open | closed | merged
    version: int = 0
    reviewers: dict[str, bool] = dataclasses.field(default_factory=dict)  # user -> approved


@dataclasses.dataclass
class Reported:
    """A status a CI system reported for a commit, in the provider's own vocabulary."""

    context: str
    state: str  # the provider's own value: "failure" (GitHub), "failed" (GitLab), "FAILED"...
    description: str = ""
    check_run: bool = False  # GitHub: a check run (state: queued, in_progress or a conclusion)
    at: int = 0  # report order (Bitbucket's dateAdded)


class FakeHost(abc.ABC):
    """Base of the five fake APIs."""

    prefix = ""

    def __init__(
        self,
        *,
        token: str,
        clock: FakeClock,
        repository: Path | None = None,
        creation_limit: int | None = None,
        period: float = 60.0,
        rate_limit_hint: bool = True,
    ) -> None:
        self.token = token
        self.clock = clock
        self.repository = repository
        self.creation_limit = creation_limit
        self.period = period
        self.rate_limit_hint = rate_limit_hint
        self.base_url = ""
        self.pulls: dict[int, Pull] = {}
        self.requests: list[gitserver.Request] = []
        self.faults: list[Fault] = []
        self.created = 0
        self.rate_limited = 0
        self.creations: list[float] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.reported: dict[str, list[Reported]] = {}  # commit -> statuses, oldest first

    # ------------------------------------------------------------------------ test controls

    def open_pulls(self, head: str | None = None) -> list[Pull]:
        return [p for p in self.pulls.values() if p.state == "open" and head in (None, p.head)]

    def close(self, number: int) -> None:
        self.pulls[number].state = "closed"

    def merge(self, number: int, *, delete_branch: bool = False) -> None:
        """Mark merged and fast-forward the base branch to the head, as a merge button would
        (and delete the head branch, as "delete branch after merge" does)."""
        pull = self.pulls[number]
        pull.state = "merged"
        if self.repository is not None:
            sha = gitserver.branches(self.repository)[pull.head]
            gitserver.git(
                "--git-dir", str(self.repository), "update-ref", f"refs/heads/{pull.base}", sha
            )
        if delete_branch:
            self.delete_branch(pull.head)

    def delete_branch(self, name: str) -> None:
        """Delete branch ``name`` from the repository, as a reviewer or a merge button does."""
        if self.repository is not None:
            gitserver.git(
                "--git-dir", str(self.repository), "update-ref", "-d", f"refs/heads/{name}"
            )

    def report(
        self,
        commit: str,
        context: str,
        state: str,
        description: str = "",
        *,
        check_run: bool = False,
    ) -> None:
        """A CI system reports ``state`` (the provider's word for it) for ``context`` of
        ``commit``; a later report of the same context replaces it, as on the real service."""
        found = self.reported.setdefault(commit, [])
        found.append(Reported(context, state, description, check_run, at=len(found) + 1))

    def latest(self, commit: str, *, check_runs: bool | None = None) -> list[Reported]:
        """The newest report of each context of ``commit``, newest first."""
        seen: dict[str, Reported] = {}
        for item in reversed(self.reported.get(commit, [])):
            if check_runs is None or item.check_run == check_runs:
                seen.setdefault(item.context, item)
        return list(seen.values())

    def calls(self, method: str, pattern: str = "") -> list[gitserver.Request]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    # ------------------------------------------------------------------------ request handling

    def handle(self, request: gitserver.Request) -> gitserver.Response:
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.matches(request, self.clock.time())), None)
            if fault is not None:
                fault.hits += 1
        if fault is not None:
            if fault.hang_seconds:
                self.stopping.wait(fault.hang_seconds)
            return gitserver.Response(fault.status, fault.body, dict(fault.headers))
        if not request.path.startswith(self.prefix):
            return self.error(404, "no such endpoint")
        if not self.authorised(request):
            return self.error(401, "Bad credentials")
        with self._lock:
            if request.method in CREATING and self.creation_limit is not None:
                now = self.clock.time()
                self.creations = [t for t in self.creations if t > now - self.period]
                if len(self.creations) >= self.creation_limit:
                    self.rate_limited += 1
                    oldest = self.creations[0] if self.creations else now
                    wait = int(oldest + self.period - now) + 1
                    hint = {"Retry-After": str(wait)} if self.rate_limit_hint else {}
                    return gitserver.Response(
                        403,
                        {
                            "message": "You have exceeded a secondary rate limit. Please wait a "
                            "few minutes before you try again."
                        },
                        hint,
                    )
                self.creations.append(now)
            return self.route(request, request.path[len(self.prefix) :])

    @abc.abstractmethod
    def authorised(self, request: gitserver.Request) -> bool:
        """Whether the request carries the token the way this provider documents."""

    @abc.abstractmethod
    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        """Answer a request to ``path`` (below ``prefix``)."""

    def error(self, status: int, message: str) -> gitserver.Response:
        return gitserver.Response(status, {"message": message})

    # ------------------------------------------------------------------------ shared behaviour

    def branch_exists(self, name: str) -> bool:
        return self.repository is None or name in gitserver.branches(self.repository)

    def add(self, *, head: str, base: str, title: str, body: str) -> Pull | None:
        """Store a new PR; ``None`` when one is already open for (head, base)."""
        if any(p.head == head and p.base == base for p in self.open_pulls()):
            return None
        pull = Pull(number=len(self.pulls) + 1, head=head, base=base, title=title, body=body)
        self.pulls[pull.number] = pull
        self.created += 1
        return pull


def require(payload: Any, fields: dict[str, type]) -> str | None:
    """The first problem with ``payload`` against required ``fields`` (name → type), if any."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    for name, kind in fields.items():
        if not isinstance(payload.get(name), kind):
            return f'"{name}" is required and must be a {kind.__name__}'
    return None


def unknown(payload: Any, known: set[str]) -> str | None:
    """The first field of ``payload`` its provider does not document, if any."""
    if not isinstance(payload, dict):
        return None
    extra = sorted(set(payload) - known)
    return extra[0] if extra else None


Route = Callable[[gitserver.Request, re.Match[str]], gitserver.Response]


def dispatch(
    routes: list[tuple[str, str, Route]], request: gitserver.Request, path: str
) -> gitserver.Response | None:
    """Call the first route whose method and full-match pattern fit."""
    for method, pattern, handler in routes:
        match = re.fullmatch(pattern, path)
        if match and request.method == method:
            return handler(request, match)
    return None
