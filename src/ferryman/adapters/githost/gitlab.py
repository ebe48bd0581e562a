"""GitLab merge requests (REST API v4, ``/projects/:id/merge_requests``).

API root: ``<origin>/api/v4/projects/<url-encoded namespace/project>``. Endpoints
(docs.gitlab.com/ee/api/merge_requests.html): list ``GET /merge_requests?source_branch=
&target_branch=`` (no ``state``: every state; ``X-Next-Page`` pagination), create
``POST /merge_requests``, update ``PUT /merge_requests/:iid``. Auth: ``PRIVATE-TOKEN``.
States ``opened``/``locked`` are open, ``merged`` merged, ``closed`` closed.
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


def api_root(url: str) -> str:
    """The API URL of the project ``url`` names."""
    parsed = base.parse_repository_url(url, provider=PROVIDER)
    if len(parsed.segments) < 2:
        raise base.invalid_url(
            url, provider=PROVIDER, expected="https://<host>/<group>[/<subgroup>...]/<project>"
        )
    project = urlparse.quote("/".join(parsed.segments), safe="")
    return f"{parsed.origin}/api/v4/projects/{project}"


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
    """One GitLab project (implements ``ports.git.GitHost``)."""

    def __init__(self, api: http.Api) -> None:
        self._api = api

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        found: list[git.PullRequest] = []
        page: int | None = 1
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = await self._api.send(list_call(head=head, base_branch=base, page=page))
            found += [parse(item) for item in _items(response.json())]
            following = response.headers.get("x-next-page", "").strip()
            page = int(following) if following.isdigit() else None
        matching = [pr for pr in found if pr.head == head and pr.base == base]
        return sorted(matching, key=lambda pr: pr.number, reverse=True)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        call = create_call(head=head, base_branch=base, title=title, body=body)
        return parse(await self._api.json(call))

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        call = update_call(pull_request.number, title=title, body=body)
        return parse(await self._api.json(call))


def connect(
    client: httpx.AsyncClient, url: str, *, token: str, pacer: base.Pacer, options: http.Options
) -> GitLabHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root = api_root(url)
    api = http.Api(
        client,
        provider=PROVIDER,
        root=root,
        headers=headers(token),
        token=token,
        pacer=pacer,
        options=options,
    )
    return GitLabHost(api)


def _items(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the merge request list with something else",
            reason="ProviderUnavailable",
        )
    return data
