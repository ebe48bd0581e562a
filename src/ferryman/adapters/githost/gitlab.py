"""GitLab merge requests (REST API v4, ``/projects/:id/merge_requests``).

API root: ``<origin>[/<relative_url_root>]/api/v4/projects/<url-encoded namespace/project>``.
Endpoints (docs.gitlab.com/api/merge_requests): list ``GET /merge_requests?source_branch=
&target_branch=`` (no ``state``: every state; ``X-Next-Page`` pagination), create
``POST /merge_requests``, update ``PUT /merge_requests/:iid``. Auth: ``PRIVATE-TOKEN``.
States ``opened``/``locked`` are open, ``merged`` merged, ``closed`` closed.

Commit statuses (docs.gitlab.com/api/commits, "List the statuses of a commit"):
``GET /repository/commits/:sha/statuses`` lists the latest status of each job and external
status (``name``), pipelines' jobs included; ``success`` and ``skipped`` pass, and so does a
``failed`` job with ``allow_failure``; ``failed`` and ``canceled`` fail; ``created``,
``waiting_for_resource``, ``preparing``, ``pending``, ``running``, ``manual`` and ``scheduled``
are pending.

A GitLab installed under a sub-path (``relative_url_root``, e.g. ``https://host/gitlab``) has
repository URLs that look like one more group level. When the path is ambiguous (three
segments or more) and no ``serverURL`` says where GitLab lives, the host asks each candidate
root for ``GET /api/v4/version`` once — shortest first — and uses the first one that answers
as GitLab does (JSON, anything but 404).
"""

from __future__ import annotations

from typing import Any, Final
from urllib import parse as urlparse

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "gitlab"
PROVIDER: Final = "GitLab"
MAX_BODY: Final = 1_000_000
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 10
_STATES: Final = {
    "opened": git.PullRequestState.OPEN,
    "locked": git.PullRequestState.OPEN,
    "merged": git.PullRequestState.MERGED,
    "closed": git.PullRequestState.CLOSED,
}


def api_root(url: str, *, server_url: str | None = None) -> str:
    """The API URL of the project ``url`` names, reading every path segment as a group."""
    return api_roots(url, server_url=server_url)[0]


def api_roots(url: str, *, server_url: str | None = None) -> list[str]:
    """Candidate API URLs of the project ``url`` names: with no sub-path first, then with each
    longer leading part of the path taken as GitLab's ``relative_url_root``."""
    parsed = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url)
    segments = parsed.segments
    if len(segments) < 2:
        raise base.invalid_url(
            url, provider=PROVIDER, expected="https://<host>/<group>[/<subgroup>...]/<project>"
        )
    splits = range(len(segments) - 1) if server_url is None and not parsed.ssh else range(1)
    roots = []
    for cut in splits:
        context = "".join(f"/{segment}" for segment in segments[:cut])
        project = urlparse.quote("/".join(segments[cut:]), safe="")
        roots.append(f"{parsed.base}{context}/api/v4/projects/{project}")
    return roots


def version_call(root: str) -> http.Call:
    """``GET /api/v4/version`` of the GitLab whose project API root is ``root``."""
    return http.Call("GET", url=root.split("/api/v4/projects/", 1)[0] + "/api/v4/version")


def headers(token: str) -> dict[str, str]:
    """Authentication headers."""
    return {"PRIVATE-TOKEN": token}


def list_call(*, head: str, base_branch: str, page: int = 1) -> http.Call:
    """Merge requests in every state from ``head`` into ``base_branch``."""
    params = {"source_branch": head, "target_branch": base_branch}
    return http.Call(
        "GET",
        "/merge_requests",
        params={**params, "per_page": str(PAGE_SIZE), "page": str(page)},
    )


def create_call(*, head: str, base_branch: str, title: str, body: str) -> http.Call:
    """Open a merge request."""
    payload = {
        "source_branch": head,
        "target_branch": base_branch,
        "title": title,
        "description": base.bounded(body, MAX_BODY),
    }
    return http.Call("POST", "/merge_requests", json=payload, creating=True)


def update_call(iid: int, *, title: str, body: str) -> http.Call:
    """Change the title and description of merge request ``iid``."""
    payload = {"title": title, "description": base.bounded(body, MAX_BODY)}
    return http.Call("PUT", f"/merge_requests/{iid}", json=payload, creating=True)


def statuses_call(commit: str, *, page: int = 1) -> http.Call:
    """One page of the latest statuses of ``commit``."""
    params = {"per_page": str(PAGE_SIZE), "page": str(page)}
    return http.Call("GET", f"/repository/commits/{commit}/statuses", params=params)


def parse_status(data: Any) -> git.CommitStatus:
    """One commit status of GitLab's JSON."""
    value = str(data.get("status") or "")
    if value in ("success", "skipped") or (value == "failed" and data.get("allow_failure")):
        state = git.CommitState.SUCCESS
    elif value in ("failed", "canceled"):
        state = git.CommitState.FAILURE
    else:
        state = git.CommitState.PENDING
    description = str(data.get("description") or value)
    return git.CommitStatus(str(data.get("name") or ""), state, description)


def parse(data: Any) -> git.PullRequest:
    """A merge request from the API's JSON."""
    return git.PullRequest(
        number=int(data["iid"]),
        url=str(data["web_url"]),
        state=_STATES.get(str(data["state"]), git.PullRequestState.CLOSED),
        head=str(data["source_branch"]),
        base=str(data["target_branch"]),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
    )


class GitLabHost:
    """One GitLab project (implements ``ports.git.GitHost``).

    ``apis`` are the candidate roots (``api_roots``); with more than one, the first call finds
    the one where GitLab answers and keeps it.
    """

    def __init__(self, apis: list[http.Api]) -> None:
        self._apis = apis

    async def _api(self) -> http.Api:
        if len(self._apis) > 1:
            for api in self._apis:
                answer = await api.exchange(version_call(api.root))
                kind = answer.headers.get("content-type", "")
                if answer.status_code != 404 and kind.startswith("application/json"):
                    self._apis = [api]
                    break
            else:
                self._apis = self._apis[:1]
        return self._apis[0]

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        api = await self._api()
        found: list[git.PullRequest] = []
        page: int | None = 1
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = await api.send(list_call(head=head, base_branch=base, page=page))
            found += [parse(item) for item in _items(response.json(), "merge request list")]
            following = response.headers.get("x-next-page", "").strip()
            page = int(following) if following.isdigit() else None
        matching = [pr for pr in found if pr.head == head and pr.base == base]
        return sorted(matching, key=lambda pr: pr.number, reverse=True)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        call = create_call(head=head, base_branch=base, title=title, body=body)
        return parse(await (await self._api()).json(call))

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        call = update_call(pull_request.number, title=title, body=body)
        return parse(await (await self._api()).json(call))

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        api = await self._api()
        found: list[git.CommitStatus] = []
        page: int | None = 1
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = await api.send(statuses_call(commit, page=page))
            found += [parse_status(item) for item in _items(response.json(), "commit statuses")]
            following = response.headers.get("x-next-page", "").strip()
            page = int(following) if following.isdigit() else None
        return base.latest_per_context(found)


def connect(
    client: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    pacer: base.Pacer,
    options: http.Options,
    server_url: str | None = None,
) -> GitLabHost:
    """The host for repository ``url``, authenticated by ``token``."""
    apis = [
        http.Api(
            client,
            provider=PROVIDER,
            root=root,
            headers=headers(token),
            token=token,
            pacer=pacer,
            options=options,
        )
        for root in api_roots(url, server_url=server_url)
    ]
    return GitLabHost(apis)


def _items(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the {what} with something else",
            reason="ProviderUnavailable",
        )
    return data
