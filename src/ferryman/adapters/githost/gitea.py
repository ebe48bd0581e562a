"""Gitea and Forgejo pull requests (REST API v1, ``/repos/{owner}/{repo}/pulls``).

API root: ``<origin>[/<sub-path>]/api/v1/repos/<owner>/<repo>``. Endpoints (go-gitea/gitea
``templates/swagger/v1_json.tmpl``: repoListPullRequests, repoCreatePullRequest,
repoEditPullRequest): list ``GET /pulls?state=all&sort=recentupdate&page=&limit=`` (no head
filter on the versions we support: matched here), create ``POST /pulls``, update
``PATCH /pulls/{index}``. Auth: ``Authorization: token <token>``. A merged pull request is
``state: closed`` with ``merged: true``.

Two behaviours of the real server shape this module:

- Paging: the server clamps ``limit`` to its ``MAX_RESPONSE_ITEMS`` (50 by default, often
  less), so a page shorter than what was asked for is not the last one. The list ends at an
  empty page, at ``X-Total-Count`` items, or when ``Link`` has no ``rel="next"``.
- Branch names: once the head branch is deleted (the usual "delete branch after merge"),
  ``head.ref`` becomes ``refs/pull/<n>/head``; ``head.label`` keeps the branch name
  (``services/convert/pull.go``), so pull requests are matched on the label.

Commit statuses (repoGetCombinedStatusByRef): ``GET /commits/{ref}/status`` lists the latest
status of each context; in ``modules/structs/status.go`` each status spells its state
``status`` (the combined one ``state``): ``pending``, ``success``, ``error``, ``failure``,
``warning`` (and ``skipped`` in newer releases); ``warning`` and ``skipped`` pass.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "gitea"
PROVIDER: Final = "Gitea"
MAX_BODY: Final = 65_536
PAGE_SIZE: Final = 50
MAX_PAGES: Final = 10


def api_root(url: str, *, server_url: str | None = None) -> str:
    """The API URL of the repository ``url`` names (HTTPS or SSH)."""
    parsed = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url)
    if len(parsed.segments) < 2:
        raise base.invalid_url(url, provider=PROVIDER, expected="https://<host>/<owner>/<repo>")
    *prefix, owner, repo = parsed.segments
    context = "".join(f"/{segment}" for segment in prefix)
    return f"{parsed.base}{context}/api/v1/repos/{owner}/{repo}"


def headers(token: str) -> dict[str, str]:
    """Authentication headers."""
    return {"Authorization": f"token {token}"}


def list_call(*, page: int = 1) -> http.Call:
    """One page of the repository's pull requests in every state, recently updated first."""
    params = {"state": "all", "sort": "recentupdate", "page": str(page), "limit": str(PAGE_SIZE)}
    return http.Call("GET", "/pulls", params=params)


def create_call(*, head: str, base_branch: str, title: str, body: str) -> http.Call:
    """Open a pull request."""
    payload = {
        "head": head,
        "base": base_branch,
        "title": title,
        "body": base.bounded(body, MAX_BODY),
    }
    return http.Call("POST", "/pulls", json=payload, creating=True)


def update_call(number: int, *, title: str, body: str) -> http.Call:
    """Change the title and body of pull request ``number``."""
    payload = {"title": title, "body": base.bounded(body, MAX_BODY)}
    return http.Call("PATCH", f"/pulls/{number}", json=payload, creating=True)


def status_call(commit: str) -> http.Call:
    """The combined status of ``commit`` (the latest status of each context)."""
    return http.Call("GET", f"/commits/{commit}/status", params={"limit": str(PAGE_SIZE)})


_STATUS_STATES: Final = {
    "success": git.CommitState.SUCCESS,
    "warning": git.CommitState.SUCCESS,  # Gitea shows it yellow but does not block merges
    "skipped": git.CommitState.SUCCESS,
    "pending": git.CommitState.PENDING,
    "failure": git.CommitState.FAILURE,
    "error": git.CommitState.FAILURE,
}


def parse_statuses(data: Any) -> list[git.CommitStatus]:
    """The statuses of a combined-status answer (each has ``status``, not ``state``)."""
    if not isinstance(data, dict):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the combined status with something else",
            reason="ProviderUnavailable",
        )
    return [
        git.CommitStatus(
            context=str(item.get("context") or ""),
            state=_STATUS_STATES.get(str(item.get("status")), git.CommitState.PENDING),
            description=str(item.get("description") or ""),
        )
        for item in data.get("statuses") or []
    ]


def parse(data: Any) -> git.PullRequest:
    """A pull request from the API's JSON."""
    if data.get("merged"):
        state = git.PullRequestState.MERGED
    elif data["state"] == "open":
        state = git.PullRequestState.OPEN
    else:
        state = git.PullRequestState.CLOSED
    head = data["head"]
    return git.PullRequest(
        number=int(data["number"]),
        url=str(data["html_url"]),
        state=state,
        head=str(head.get("label") or head["ref"]),
        base=str(data["base"]["ref"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
    )


class GiteaHost:
    """One Gitea repository (implements ``ports.git.GitHost``)."""

    def __init__(self, api: http.Api) -> None:
        self._api = api

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        found: list[git.PullRequest] = []
        for page in range(1, MAX_PAGES + 1):
            response = await self._api.send(list_call(page=page))
            items = _items(response.json())
            found += [parse(item) for item in items]
            if _last_page(response, items=len(items), seen=len(found)):
                break
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

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        found = parse_statuses(await self._api.json(status_call(commit)))
        return base.latest_per_context(found)


def connect(
    client: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    pacer: base.Pacer,
    options: http.Options,
    server_url: str | None = None,
) -> GiteaHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root = api_root(url, server_url=server_url)
    api = http.Api(
        client,
        provider=PROVIDER,
        root=root,
        headers=headers(token),
        token=token,
        pacer=pacer,
        options=options,
    )
    return GiteaHost(api)


def _items(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the pull request list with something else",
            reason="ProviderUnavailable",
        )
    return data


def _last_page(response: httpx.Response, *, items: int, seen: int) -> bool:
    """Whether the list ended: an empty page, all ``X-Total-Count`` items, or no next link.

    Never a short page alone: the server may have clamped ``limit`` to MAX_RESPONSE_ITEMS.
    """
    if items == 0:
        return True
    total = response.headers.get("x-total-count", "").strip()
    if total.isdigit():
        return seen >= int(total)
    link = response.headers.get("link")
    if link is not None:
        return 'rel="next"' not in link.replace(" ", "")
    return False
