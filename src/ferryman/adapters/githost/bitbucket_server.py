"""Bitbucket Server / Data Center pull requests (REST API 1.0).

API root: ``<origin>[/<context>]/rest/api/1.0/projects/<KEY>/repos/<slug>`` from a clone URL
``<origin>[/<context>]/scm/<KEY>/<slug>.git`` (or a browse URL ``.../projects/<KEY>/repos/<slug>``).
Endpoints (developer.atlassian.com/server/bitbucket/rest, "Pull requests"): list
``GET /pull-requests?state=ALL&direction=OUTGOING&at=refs/heads/<head>`` (``isLastPage``/
``nextPageStart`` paging), create ``POST /pull-requests`` with ``fromRef``/``toRef``, update
``PUT /pull-requests/{id}`` carrying the current ``version`` (optimistic locking; a stale one is
409, retried). Auth: ``Authorization: Bearer <HTTP access token>``. States ``OPEN``, ``MERGED``,
``DECLINED``.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "bitbucket-server"
PROVIDER: Final = "Bitbucket Server"
MAX_BODY: Final = 30_000
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 10
_STATES: Final = {
    "OPEN": git.PullRequestState.OPEN,
    "MERGED": git.PullRequestState.MERGED,
    "DECLINED": git.PullRequestState.CLOSED,
}


def locate(url: str) -> tuple[str, str, str]:
    """(API root, project key, repository slug) of the repository ``url`` names."""
    parsed = base.parse_repository_url(url, provider=PROVIDER)
    segments = parsed.segments
    expected = "https://<host>/scm/<PROJECT>/<repo>.git"
    for marker, offset in (("scm", 1), ("projects", 1)):
        if marker in segments:
            index = len(segments) - 1 - segments[::-1].index(marker)
            rest = segments[index + offset :]
            if marker == "scm" and len(rest) == 2:
                key, slug = rest
            elif marker == "projects" and len(rest) == 3 and rest[1] == "repos":
                key, slug = rest[0], rest[2]
            else:
                continue
            context = "".join(f"/{segment}" for segment in segments[:index])
            root = f"{parsed.origin}{context}/rest/api/1.0/projects/{key}/repos/{slug}"
            return root, key, slug
    raise base.invalid_url(url, provider=PROVIDER, expected=expected)


def headers(token: str) -> dict[str, str]:
    """Authentication headers."""
    return {"Authorization": f"Bearer {token}"}


def list_call(*, head: str, start: int = 0) -> http.Call:
    """Pull requests in every state whose source is ``head``."""
    params = {"state": "ALL", "direction": "OUTGOING", "at": f"refs/heads/{head}"}
    return http.Call(
        "GET", "/pull-requests", params={**params, "limit": str(PAGE_SIZE), "start": str(start)}
    )


def _ref(branch: str, *, key: str, slug: str) -> dict[str, Any]:
    return {"id": f"refs/heads/{branch}", "repository": {"slug": slug, "project": {"key": key}}}


def create_call(
    *, key: str, slug: str, head: str, base_branch: str, title: str, body: str
) -> http.Call:
    """Open a pull request from ``head`` into ``base_branch`` of the same repository."""
    payload = {
        "title": title,
        "description": base.bounded(body, MAX_BODY),
        "fromRef": _ref(head, key=key, slug=slug),
        "toRef": _ref(base_branch, key=key, slug=slug),
    }
    return http.Call("POST", "/pull-requests", json=payload, creating=True)


def update_call(number: int, *, version: int, title: str, body: str) -> http.Call:
    """Change the title and description of pull request ``number`` at ``version``."""
    payload = {"version": version, "title": title, "description": base.bounded(body, MAX_BODY)}
    return http.Call("PUT", f"/pull-requests/{number}", json=payload, creating=True)


def parse(data: Any) -> git.PullRequest:
    """A pull request from the API's JSON."""
    links = data.get("links", {}).get("self", [])
    return git.PullRequest(
        number=int(data["id"]),
        url=str(links[0]["href"]) if links else "",
        state=_STATES.get(str(data["state"]), git.PullRequestState.CLOSED),
        head=str(data["fromRef"]["id"]).removeprefix("refs/heads/"),
        base=str(data["toRef"]["id"]).removeprefix("refs/heads/"),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
        version=int(data.get("version", 0)),
    )


class BitbucketServerHost:
    """One Bitbucket Server repository (implements ``ports.git.GitHost``)."""

    def __init__(self, api: http.Api, *, key: str, slug: str) -> None:
        self._api = api
        self._key = key
        self._slug = slug

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        found: list[git.PullRequest] = []
        start: int | None = 0
        for _ in range(MAX_PAGES):
            if start is None:
                break
            page = _page(await self._api.json(list_call(head=head, start=start)))
            found += [parse(item) for item in page.get("values", [])]
            following = page.get("nextPageStart")
            last = page.get("isLastPage", True)
            start = None if last or not isinstance(following, int) else following
        matching = [pr for pr in found if pr.head == head and pr.base == base]
        return sorted(matching, key=lambda pr: pr.number, reverse=True)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        call = create_call(
            key=self._key, slug=self._slug, head=head, base_branch=base, title=title, body=body
        )
        return parse(await self._api.json(call))

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        call = update_call(
            pull_request.number, version=pull_request.version or 0, title=title, body=body
        )
        return parse(await self._api.json(call))


def connect(
    client: httpx.AsyncClient, url: str, *, token: str, pacer: base.Pacer, options: http.Options
) -> BitbucketServerHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root, key, slug = locate(url)
    api = http.Api(
        client,
        provider=PROVIDER,
        root=root,
        headers=headers(token),
        token=token,
        pacer=pacer,
        options=options,
    )
    return BitbucketServerHost(api, key=key, slug=slug)


def _page(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the pull request list with something else",
            reason="ProviderUnavailable",
        )
    return data
