"""Azure DevOps Services and Server pull requests (Git REST API, ``api-version=7.1``).

API root: ``<origin>/<org-or-collection>/<project>/_apis/git/repositories/<repo>`` from a clone
URL ``<origin>/<org>/<project>/_git/<repo>``. Endpoints
(learn.microsoft.com/rest/api/azure/devops/git/pull-requests): list ``GET /pullrequests?
searchCriteria.sourceRefName=&searchCriteria.targetRefName=&searchCriteria.status=all``
(``$top``/``$skip`` paging), create ``POST /pullrequests``, update ``PATCH /pullrequests/{id}``.
Auth: HTTP Basic with an empty user name and the personal access token as password. States
``active``, ``completed`` (merged), ``abandoned`` (closed). Descriptions are limited to 4000
characters.
"""

from __future__ import annotations

import base64
from typing import Any, Final

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "azure-devops"
PROVIDER: Final = "Azure DevOps"
API_VERSION: Final = "7.1"
MAX_BODY: Final = 4_000
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 10
_STATES: Final = {
    "active": git.PullRequestState.OPEN,
    "completed": git.PullRequestState.MERGED,
    "abandoned": git.PullRequestState.CLOSED,
}


def locate(url: str) -> tuple[str, str]:
    """(API root, web URL of the repository) for the repository ``url`` names."""
    parsed = base.parse_repository_url(url, provider=PROVIDER)
    segments = parsed.segments
    if "_git" not in segments or segments.index("_git") < 1 or segments[-2] != "_git":
        raise base.invalid_url(
            url, provider=PROVIDER, expected="https://<host>/<org>/<project>/_git/<repo>"
        )
    prefix = "".join(f"/{segment}" for segment in segments[:-2])
    repo = segments[-1]
    root = f"{parsed.origin}{prefix}/_apis/git/repositories/{repo}"
    return root, f"{parsed.origin}{prefix}/_git/{repo}"


def headers(token: str) -> dict[str, str]:
    """Authentication headers."""
    basic = base64.b64encode(f":{token}".encode()).decode("ascii")
    return {"Authorization": f"Basic {basic}"}


def list_call(*, head: str, base_branch: str, skip: int = 0) -> http.Call:
    """Pull requests in every state from ``head`` into ``base_branch``."""
    params = {
        "searchCriteria.sourceRefName": f"refs/heads/{head}",
        "searchCriteria.targetRefName": f"refs/heads/{base_branch}",
        "searchCriteria.status": "all",
        "$top": str(PAGE_SIZE),
        "$skip": str(skip),
        "api-version": API_VERSION,
    }
    return http.Call("GET", "/pullrequests", params=params)


def create_call(*, head: str, base_branch: str, title: str, body: str) -> http.Call:
    """Open a pull request."""
    payload = {
        "sourceRefName": f"refs/heads/{head}",
        "targetRefName": f"refs/heads/{base_branch}",
        "title": title,
        "description": base.bounded(body, MAX_BODY),
    }
    params = {"api-version": API_VERSION}
    return http.Call("POST", "/pullrequests", params=params, json=payload, creating=True)


def update_call(number: int, *, title: str, body: str) -> http.Call:
    """Change the title and description of pull request ``number``."""
    payload = {"title": title, "description": base.bounded(body, MAX_BODY)}
    params = {"api-version": API_VERSION}
    return http.Call("PATCH", f"/pullrequests/{number}", params=params, json=payload, creating=True)


def parse(data: Any, *, web_url: str) -> git.PullRequest:
    """A pull request from the API's JSON; its page is under the repository's web URL."""
    number = int(data["pullRequestId"])
    repository_url = str(data.get("repository", {}).get("webUrl") or web_url)
    return git.PullRequest(
        number=number,
        url=f"{repository_url}/pullrequest/{number}",
        state=_STATES.get(str(data["status"]), git.PullRequestState.CLOSED),
        head=str(data["sourceRefName"]).removeprefix("refs/heads/"),
        base=str(data["targetRefName"]).removeprefix("refs/heads/"),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
    )


class AzureDevOpsHost:
    """One Azure Repos repository (implements ``ports.git.GitHost``)."""

    def __init__(self, api: http.Api, *, web_url: str) -> None:
        self._api = api
        self._web_url = web_url

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        found: list[git.PullRequest] = []
        for page in range(MAX_PAGES):
            call = list_call(head=head, base_branch=base, skip=page * PAGE_SIZE)
            values = _values(await self._api.json(call))
            found += [parse(item, web_url=self._web_url) for item in values]
            if len(values) < PAGE_SIZE:
                break
        matching = [pr for pr in found if pr.head == head and pr.base == base]
        return sorted(matching, key=lambda pr: pr.number, reverse=True)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        call = create_call(head=head, base_branch=base, title=title, body=body)
        return parse(await self._api.json(call), web_url=self._web_url)

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        call = update_call(pull_request.number, title=title, body=body)
        return parse(await self._api.json(call), web_url=self._web_url)


def connect(
    client: httpx.AsyncClient, url: str, *, token: str, pacer: base.Pacer, options: http.Options
) -> AzureDevOpsHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root, web_url = locate(url)
    api = http.Api(
        client,
        provider=PROVIDER,
        root=root,
        headers=headers(token),
        token=token,
        pacer=pacer,
        options=options,
    )
    return AzureDevOpsHost(api, web_url=web_url)


def _values(data: Any) -> list[Any]:
    values = data.get("value") if isinstance(data, dict) else None
    if not isinstance(values, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the pull request list with something else",
            reason="ProviderUnavailable",
        )
    return values
