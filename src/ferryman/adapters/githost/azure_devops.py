"""Azure DevOps Services and Server pull requests (Git REST API).

API root: ``<origin>/<org-or-collection>/<project>/_apis/git/repositories/<repo>`` from a clone
URL ``<origin>/<org>/<project>/_git/<repo>`` — or ``<origin>/<org>/_git/<repo>``, which Azure
DevOps shows when the repository has its project's name (the project is then the repository's
name) — or an SSH URL ``git@ssh.dev.azure.com:v3/<org>/<project>/<repo>``. Endpoints
(MicrosoftDocs/vsts-rest-api-specs ``specification/git/*/git.json``, "Pull Requests"): list
``GET /pullrequests?searchCriteria.sourceRefName=&searchCriteria.targetRefName=
&searchCriteria.status=all`` (``$top``/``$skip`` paging), get ``GET /pullrequests/{id}``, create
``POST /pullrequests``, update ``PATCH /pullrequests/{id}``. Auth: HTTP Basic with an empty user
name and the personal access token as password. States ``active``, ``completed`` (merged),
``abandoned`` (closed). Descriptions are limited to 4000 characters.

``api-version``: Services (``dev.azure.com``, ``*.visualstudio.com``) take 7.1; a server takes
what its release supports (Server 2019: 5.0, 2020: 6.0, 2022: 7.0), so other hosts get 6.0, and
a server that answers ``VssVersionOutOfRangeException`` ("… The latest REST API version this
server supports is 5.0.") is asked again, once, with the version it names (5.0 at least).

The list truncates ``description`` to 400 characters ("Please note that description field
will be truncated up to 400 symbols in the result"), so an open pull request is read again by
id before its description is compared.

Commit statuses ("Statuses - List"): ``GET /commits/{commitId}/statuses?latestOnly=true`` gives
the latest status of each ``context`` (``genre``/``name``), ``state`` one of ``succeeded``,
``failed``, ``error``, ``pending``, ``notSet``, ``notApplicable`` (``GitStatusState``);
``notApplicable`` passes (the status says it does not apply), ``notSet`` is pending.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Final

import httpx

from ferryman.adapters.githost import base, http
from ferryman.domain import errors
from ferryman.ports import git

KIND: Final = "azure-devops"
PROVIDER: Final = "Azure DevOps"
SERVICES_API_VERSION: Final = "7.1"
SERVER_API_VERSION: Final = "6.0"
MIN_API_VERSION: Final = (5, 0)
SERVICES_HOSTS: Final = ("dev.azure.com", "ssh.dev.azure.com")
MAX_BODY: Final = 4_000
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 10
_STATES: Final = {
    "active": git.PullRequestState.OPEN,
    "completed": git.PullRequestState.MERGED,
    "abandoned": git.PullRequestState.CLOSED,
}
_LATEST_SUPPORTED: Final = re.compile(r"server supports is (\d+)\.(\d+)")


def locate(url: str, *, server_url: str | None = None) -> tuple[str, str]:
    """(API root, web URL of the repository) for the repository ``url`` names."""
    parsed = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url)
    segments, origin = _web_segments(parsed)
    if "_git" not in segments or segments[-2] != "_git":
        raise base.invalid_url(
            url, provider=PROVIDER, expected="https://<host>/<org>/<project>/_git/<repo>"
        )
    repo = segments[-1]
    before = list(segments[:-2])
    # serverURL is the organization's or collection's URL: anything after it is the project.
    named = bool(before) if server_url is not None else _names_project(origin, before)
    owner = list(parsed.prefix) + before  # organization or collection [+ project]
    if not named:
        owner.append(repo)  # ".../_git/<repo>" without a project: the project has its name
    prefix = "".join(f"/{segment}" for segment in owner)
    return f"{origin}{prefix}/_apis/git/repositories/{repo}", f"{origin}{prefix}/_git/{repo}"


def _web_segments(parsed: base.RepositoryUrl) -> tuple[tuple[str, ...], str]:
    """The path as in an HTTPS clone URL, and the web origin, also for SSH URLs."""
    segments = parsed.segments
    if parsed.ssh and segments[:1] == ("v3",) and len(segments) == 4:
        _, org, project, repo = segments
        if parsed.host.endswith("visualstudio.com"):  # <org>@vs-ssh.visualstudio.com:v3/...
            return (project, "_git", repo), f"https://{org}.visualstudio.com"
        return (org, project, "_git", repo), "https://dev.azure.com"
    return segments, parsed.origin


def _names_project(origin: str, before: list[str]) -> bool:
    """Whether the path before ``_git`` ends in a project (not only the org or collection).

    dev.azure.com: ``<org>[/<project>]``; ``<org>.visualstudio.com``: ``[DefaultCollection/]
    [<project>]``; a server: ``[tfs/]<collection>[/<project>]`` (``serverURL`` settles any
    other layout).
    """
    host = httpx.URL(origin).host
    if host == "dev.azure.com":
        return len(before) >= 2
    if host.endswith(".visualstudio.com"):
        return any(segment.lower() != "defaultcollection" for segment in before)
    if before[:1] and before[0].lower() == "tfs":
        return len(before) >= 3
    return len(before) >= 2


def api_version(root: str) -> str:
    """The api-version to start with for the service at ``root``."""
    host = httpx.URL(root).host
    services = host in SERVICES_HOSTS or host.endswith(".visualstudio.com")
    return SERVICES_API_VERSION if services else SERVER_API_VERSION


def headers(token: str) -> dict[str, str]:
    """Authentication headers."""
    basic = base64.b64encode(f":{token}".encode()).decode("ascii")
    return {"Authorization": f"Basic {basic}"}


def list_call(*, head: str, base_branch: str, version: str, skip: int = 0) -> http.Call:
    """Pull requests in every state from ``head`` into ``base_branch``."""
    params = {
        "searchCriteria.sourceRefName": f"refs/heads/{head}",
        "searchCriteria.targetRefName": f"refs/heads/{base_branch}",
        "searchCriteria.status": "all",
        "$top": str(PAGE_SIZE),
        "$skip": str(skip),
        "api-version": version,
    }
    return http.Call("GET", "/pullrequests", params=params)


def get_call(number: int, *, version: str) -> http.Call:
    """Pull request ``number`` with its whole description (the list truncates it)."""
    return http.Call("GET", f"/pullrequests/{number}", params={"api-version": version})


def create_call(*, head: str, base_branch: str, title: str, body: str, version: str) -> http.Call:
    """Open a pull request."""
    payload = {
        "sourceRefName": f"refs/heads/{head}",
        "targetRefName": f"refs/heads/{base_branch}",
        "title": title,
        "description": base.bounded(body, MAX_BODY),
    }
    params = {"api-version": version}
    return http.Call("POST", "/pullrequests", params=params, json=payload, creating=True)


def update_call(number: int, *, title: str, body: str, version: str) -> http.Call:
    """Change the title and description of pull request ``number``."""
    payload = {"title": title, "description": base.bounded(body, MAX_BODY)}
    params = {"api-version": version}
    return http.Call("PATCH", f"/pullrequests/{number}", params=params, json=payload, creating=True)


def statuses_call(commit: str, *, version: str) -> http.Call:
    """The latest status of each context of ``commit``."""
    params = {"latestOnly": "true", "api-version": version}
    return http.Call("GET", f"/commits/{commit}/statuses", params=params)


_STATUS_STATES: Final = {
    "succeeded": git.CommitState.SUCCESS,
    "notApplicable": git.CommitState.SUCCESS,
    "failed": git.CommitState.FAILURE,
    "error": git.CommitState.FAILURE,
}


def parse_status(data: Any) -> git.CommitStatus:
    """One ``GitStatus``; its context reads ``genre/name`` (``name`` without a genre)."""
    context = data.get("context") or {}
    genre, name = str(context.get("genre") or ""), str(context.get("name") or "")
    return git.CommitStatus(
        context=f"{genre}/{name}" if genre else name,
        state=_STATUS_STATES.get(str(data.get("state")), git.CommitState.PENDING),
        description=str(data.get("description") or data.get("state") or ""),
    )


def supported_version(response: httpx.Response) -> str | None:
    """The version a server names in ``VssVersionOutOfRangeException``, if it is one we can use."""
    if response.status_code != 400 or b"VssVersionOutOfRangeException" not in response.content:
        return None
    found = _LATEST_SUPPORTED.search(response.text)
    if found is None or (int(found[1]), int(found[2])) < MIN_API_VERSION:
        return None
    return f"{found[1]}.{found[2]}"


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
        self._version = api_version(api.root)

    async def _json(self, build: Any) -> Any:
        """Send ``build(version)``; once more with the server's version if it refuses ours."""
        response = await self._api.exchange(build(self._version))
        supported = supported_version(response)
        if supported is not None and supported != self._version:
            self._version = supported
            response = await self._api.exchange(build(supported))
        self._api.check(response)
        return response.json()

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        found: list[git.PullRequest] = []
        for page in range(MAX_PAGES):

            def listing(version: str, skip: int = page * PAGE_SIZE) -> http.Call:
                return list_call(head=head, base_branch=base, version=version, skip=skip)

            values = _values(await self._json(listing), "pull request list")
            found += [parse(item, web_url=self._web_url) for item in values]
            if len(values) < PAGE_SIZE:
                break
        matching = [pr for pr in found if pr.head == head and pr.base == base]
        opened = [await self._full(pr) for pr in matching if pr.state is git.PullRequestState.OPEN]
        rest = [pr for pr in matching if pr.state is not git.PullRequestState.OPEN]
        return sorted(opened + rest, key=lambda pr: pr.number, reverse=True)

    async def _full(self, pull_request: git.PullRequest) -> git.PullRequest:
        data = await self._json(lambda version: get_call(pull_request.number, version=version))
        return parse(data, web_url=self._web_url)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        data = await self._json(
            lambda version: create_call(
                head=head, base_branch=base, title=title, body=body, version=version
            )
        )
        return parse(data, web_url=self._web_url)

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        data = await self._json(
            lambda version: update_call(
                pull_request.number, title=title, body=body, version=version
            )
        )
        return parse(data, web_url=self._web_url)

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        data = await self._json(lambda version: statuses_call(commit, version=version))
        found = [parse_status(item) for item in _values(data, "commit statuses")]
        return base.latest_per_context(found)


def connect(
    client: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    pacer: base.Pacer,
    options: http.Options,
    server_url: str | None = None,
) -> AzureDevOpsHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root, web_url = locate(url, server_url=server_url)
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


def _values(data: Any, what: str) -> list[Any]:
    values = data.get("value") if isinstance(data, dict) else None
    if not isinstance(values, list):
        raise errors.TemporaryError(
            f"{PROVIDER} API answered the {what} with something else",
            reason="ProviderUnavailable",
        )
    return values
