"""Bitbucket Server / Data Center pull requests (REST API 1.0).

API root: ``<origin>[/<context>]/rest/api/1.0/projects/<KEY>/repos/<slug>`` from a clone URL
``<origin>[/<context>]/scm/<key>/<slug>.git``, a browse URL ``.../projects/<KEY>/repos/<slug>``
or an SSH URL ``ssh://git@<host>:7999/<key>/<slug>.git``. Clone URLs show the project key in
lower case; REST paths need it as the server stores it, in upper case (a personal project
``~user`` stays as written). Endpoints (developer.atlassian.com/server/bitbucket/rest,
"Pull requests"): list
``GET /pull-requests?state=ALL&direction=OUTGOING&at=refs/heads/<head>`` (``isLastPage``/
``nextPageStart`` paging), create ``POST /pull-requests`` with ``fromRef``/``toRef``, update
``PUT /pull-requests/{id}`` carrying the current ``version`` (optimistic locking; a stale one is
409, retried). The update's ``reviewers`` is the new full set — "any current reviewer not in
this set will be relegated to participant status" (``PullRequestUpdateRequest.getReviewers``) —
so every update sends the current reviewers back. Auth: ``Authorization: Bearer <HTTP access
token>``. States ``OPEN``, ``MERGED``, ``DECLINED``.

Commit statuses ("Updating build status for commits"): ``GET
<origin>[/<context>]/rest/build-status/1.0/commits/<commit>`` pages every build result posted
for the commit (``state`` ``SUCCESSFUL``, ``FAILED``, ``INPROGRESS`` — and ``CANCELLED``,
``UNKNOWN`` on Data Center), several per ``key`` when a build ran again: the newest
(``dateAdded``) of each key counts.
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


def locate(url: str, *, server_url: str | None = None) -> tuple[str, str, str]:
    """(API root, project key as REST wants it, repository slug) of the repository ``url`` names."""
    parsed = base.parse_repository_url(url, provider=PROVIDER, server_url=server_url)
    found = _ssh_path(parsed) if parsed.ssh else _web_path(parsed.segments)
    if found is None:
        raise base.invalid_url(
            url, provider=PROVIDER, expected="https://<host>/scm/<PROJECT>/<repo>.git"
        )
    context, key, slug = found
    key = rest_key(key)
    root = f"{parsed.base}{context}/rest/api/1.0/projects/{key}/repos/{slug}"
    return root, key, slug


def rest_key(key: str) -> str:
    """The project key as REST paths need it: upper case, except a personal ``~user``."""
    return key if key.startswith("~") else key.upper()


def _ssh_path(parsed: base.RepositoryUrl) -> tuple[str, str, str] | None:
    if len(parsed.segments) != 2:
        return None
    key, slug = parsed.segments
    return "", key, slug


def _web_path(segments: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(context path, key, slug) from ``/scm/<key>/<slug>`` or ``/projects/<KEY>/repos/<slug>``."""
    for marker in ("scm", "projects"):
        if marker not in segments:
            continue
        index = len(segments) - 1 - segments[::-1].index(marker)
        rest = segments[index + 1 :]
        context = "".join(f"/{segment}" for segment in segments[:index])
        if marker == "scm" and len(rest) == 2:
            return context, rest[0], rest[1]
        if marker == "projects" and len(rest) == 3 and rest[1] == "repos":
            return context, rest[0], rest[2]
    return None


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


def update_call(
    number: int, *, version: int, title: str, body: str, reviewers: tuple[str, ...]
) -> http.Call:
    """Change the title and description of pull request ``number`` at ``version``, keeping
    ``reviewers`` (the API takes the update's reviewers as the new full set)."""
    payload = {
        "version": version,
        "title": title,
        "description": base.bounded(body, MAX_BODY),
        "reviewers": [{"user": {"name": name}} for name in reviewers],
    }
    return http.Call("PUT", f"/pull-requests/{number}", json=payload, creating=True)


def builds_call(root: str, commit: str, *, start: int = 0) -> http.Call:
    """One page of the build results of ``commit`` (the build-status API beside ``root``)."""
    origin = root.split("/rest/api/1.0/", 1)[0]
    params = {"limit": str(PAGE_SIZE), "start": str(start)}
    return http.Call("GET", url=f"{origin}/rest/build-status/1.0/commits/{commit}", params=params)


_BUILD_STATES: Final = {
    "SUCCESSFUL": git.CommitState.SUCCESS,
    "FAILED": git.CommitState.FAILURE,
    "CANCELLED": git.CommitState.FAILURE,
}


def parse_builds(values: list[Any]) -> list[git.CommitStatus]:
    """Build results as statuses, newest first (``dateAdded`` in milliseconds)."""
    newest = sorted(
        (item for item in values if isinstance(item, dict)),
        key=lambda item: int(item.get("dateAdded") or 0),
        reverse=True,
    )
    return [
        git.CommitStatus(
            context=str(item.get("key") or item.get("name") or ""),
            state=_BUILD_STATES.get(str(item.get("state")), git.CommitState.PENDING),
            description=str(item.get("description") or item.get("name") or ""),
        )
        for item in newest
    ]


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
        reviewers=tuple(
            str(entry["user"]["name"])
            for entry in data.get("reviewers", [])
            if isinstance(entry, dict) and isinstance(entry.get("user"), dict)
        ),
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
            pull_request.number,
            version=pull_request.version or 0,
            title=title,
            body=body,
            reviewers=pull_request.reviewers,
        )
        return parse(await self._api.json(call))

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        values: list[Any] = []
        start: int | None = 0
        for _ in range(MAX_PAGES):
            if start is None:
                break
            page = _page(await self._api.json(builds_call(self._api.root, commit, start=start)))
            values += page.get("values") or []
            following = page.get("nextPageStart")
            last = page.get("isLastPage", True)
            start = None if last or not isinstance(following, int) else following
        return base.latest_per_context(parse_builds(values))


def connect(
    client: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    pacer: base.Pacer,
    options: http.Options,
    server_url: str | None = None,
) -> BitbucketServerHost:
    """The host for repository ``url``, authenticated by ``token``."""
    root, key, slug = locate(url, server_url=server_url)
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
            f"{PROVIDER} API answered a page with something else",
            reason="ProviderUnavailable",
        )
    return data
