"""GitHub and GitHub Enterprise Server pull requests (REST API, ``/repos/{owner}/{repo}/pulls``).

API root: ``https://api.github.com`` for github.com, ``https://api.<sub>.ghe.com`` for GitHub
Enterprise Cloud with data residency (``<sub>.ghe.com``), ``<origin>/api/v3`` for an Enterprise
Server host. Endpoints (github/rest-api-description, operations ``pulls/list``,
``pulls/create``, ``pulls/update``): list ``GET /pulls?state=all&head=&base=``
(``Link: rel="next"`` pagination), create ``POST /pulls``, update ``PATCH /pulls/{number}``.
Auth: ``Authorization: Bearer <token>``. A merged pull request is ``state: closed`` with
``merged_at`` set.

Commit statuses (operations ``repos/get-combined-status-for-ref`` and ``checks/list-for-ref``):
``GET /commits/{ref}/status`` lists the latest status of each context (``error``, ``failure``,
``pending``, ``success``), ``GET /commits/{ref}/check-runs`` the latest check run of each name
(``status`` ``queued``/``in_progress``/``completed``…, and once completed a ``conclusion``:
``success``, ``neutral`` and ``skipped`` pass, the rest fail). Both count, as branch protection
counts them.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "github"
PROVIDER: Final = "GitHub"
MAX_BODY: Final = 65_536
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 10


def api_root(url: str, *, server_url: str | None = None) -> str:
    """The API URL of the repository ``url`` names (HTTPS or SSH)."""
    parsed = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url)
    if len(parsed.segments) != 2:
        raise base.invalid_url(url, provider=PROVIDER, expected="https://<host>/<owner>/<repo>")
    owner, repo = parsed.segments
    return f"{api_origin(parsed)}/repos/{owner}/{repo}"


def api_origin(parsed: base.RepositoryUrl) -> str:
    """Where the REST API lives for the server ``parsed`` names."""
    if parsed.host == "github.com":
        return "https://api.github.com"
    if parsed.host.endswith(".ghe.com"):  # Enterprise Cloud with data residency
        return f"https://api.{parsed.host}"
    return parsed.base + "/api/v3"


def headers(token: str) -> dict[str, str]:
    """Authentication and media-type headers."""
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


def list_call(*, owner: str, head: str, base_branch: str) -> http.Call:
    """Pull requests in every state from ``owner:head`` into ``base_branch``."""
    params = {"state": "all", "head": f"{owner}:{head}", "base": base_branch}
    return http.Call("GET", "/pulls", params={**params, "per_page": str(PAGE_SIZE)})


def create_call(*, head: str, base_branch: str, title: str, body: str) -> http.Call:
    """Open a pull request."""
    payload = {
        "title": title,
        "head": head,
        "base": base_branch,
        "body": base.bounded(body, MAX_BODY),
    }
    return http.Call("POST", "/pulls", json=payload, creating=True)


def update_call(number: int, *, title: str, body: str) -> http.Call:
    """Change the title and body of pull request ``number``."""
    payload = {"title": title, "body": base.bounded(body, MAX_BODY)}
    return http.Call("PATCH", f"/pulls/{number}", json=payload, creating=True)


def status_call(commit: str) -> http.Call:
    """The combined status of ``commit`` (the latest status of each context)."""
    return http.Call("GET", f"/commits/{commit}/status", params={"per_page": str(PAGE_SIZE)})


def check_runs_call(commit: str) -> http.Call:
    """The latest check run of each name for ``commit``."""
    return http.Call("GET", f"/commits/{commit}/check-runs", params={"per_page": str(PAGE_SIZE)})


_STATUS_STATES: Final = {
    "success": git.CommitState.SUCCESS,
    "pending": git.CommitState.PENDING,
    "failure": git.CommitState.FAILURE,
    "error": git.CommitState.FAILURE,
}
_PASSING_CONCLUSIONS: Final = frozenset({"success", "neutral", "skipped"})


def parse_statuses(data: Any) -> list[git.CommitStatus]:
    """The statuses of a combined-status answer."""
    return [
        git.CommitStatus(
            context=str(item.get("context") or ""),
            state=_STATUS_STATES.get(str(item.get("state")), git.CommitState.PENDING),
            description=str(item.get("description") or ""),
        )
        for item in data.get("statuses") or []
    ]


def parse_check_runs(data: Any) -> list[git.CommitStatus]:
    """The check runs of a check-runs answer."""
    found = []
    for item in data.get("check_runs") or []:
        conclusion = item.get("conclusion")
        if item.get("status") != "completed" or conclusion is None:
            state = git.CommitState.PENDING
        elif conclusion in _PASSING_CONCLUSIONS:
            state = git.CommitState.SUCCESS
        else:
            state = git.CommitState.FAILURE
        output = item.get("output") or {}
        description = str(output.get("title") or conclusion or item.get("status") or "")
        found.append(git.CommitStatus(str(item.get("name") or ""), state, description))
    return found


def parse(data: Any) -> git.PullRequest:
    """A pull request from the API's JSON."""
    if data.get("merged_at"):
        state = git.PullRequestState.MERGED
    elif data["state"] == "open":
        state = git.PullRequestState.OPEN
    else:
        state = git.PullRequestState.CLOSED
    return git.PullRequest(
        number=int(data["number"]),
        url=str(data["html_url"]),
        state=state,
        head=str(data["head"]["ref"]),
        base=str(data["base"]["ref"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
    )


def next_link(link_header: str) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header."""
    for part in link_header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None


class GitHubHost:
    """One GitHub repository (implements ``ports.git.GitHost``)."""

    def __init__(self, api: http.Api, *, owner: str) -> None:
        self._api = api
        self._owner = owner

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        call: http.Call | None = list_call(owner=self._owner, head=head, base_branch=base)
        found: list[git.PullRequest] = []
        for _ in range(MAX_PAGES):
            if call is None:
                break
            response = await self._api.send(call)
            found += [parse(item) for item in _items(response.json())]
            link = next_link(response.headers.get("link", ""))
            call = http.Call("GET", url=link) if link else None
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
        combined = _object(await self._api.json(status_call(commit)), "combined status")
        runs = _object(await self._api.json(check_runs_call(commit)), "check runs")
        found = [*parse_statuses(combined), *parse_check_runs(runs)]
        return base.latest_per_context(found)


def connect(
    client: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    pacer: base.Pacer,
    options: http.Options,
    server_url: str | None = None,
) -> GitHubHost:
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
    owner = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url).segments[0]
    return GitHubHost(api, owner=owner)


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the {what} with something else",
            reason="ProviderUnavailable",
        )
    return data


def _items(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the pull request list with something else",
            reason="ProviderUnavailable",
        )
    return data
