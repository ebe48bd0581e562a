"""Fake Bitbucket Server pull request API at ``/rest/api/1.0/projects/{KEY}/repos/{slug}``.

Shapes follow the Bitbucket Data Center REST API (https://developer.atlassian.com/server/bitbucket/rest/,
"Pull requests": get pull requests with ``state``/``direction``/``at``, paged by ``start``/
``limit`` with ``isLastPage``/``nextPageStart``; create with ``fromRef``/``toRef`` refs,
409 ``DuplicatePullRequestException``; update with the current ``version``, 409 when stale).
Auth: ``Authorization: Bearer <HTTP access token>``.
"""

from __future__ import annotations

import re
from typing import Any

from fakes import gitserver
from fakes.githosts import base

_STATE = {"open": "OPEN", "closed": "DECLINED", "merged": "MERGED"}


class FakeBitbucketServer(base.FakeHost):
    """Bitbucket Server's pull request endpoints for one repository."""

    def __init__(self, *, key: str, slug: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self.slug = slug
        self.prefix = f"/rest/api/1.0/projects/{key}/repos/{slug}"

    def repository_url(self) -> str:
        return f"{self.base_url}/scm/{self.key}/{self.slug}.git"

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pull-requests", self._list),
            ("POST", "/pull-requests", self._create),
            ("PUT", r"/pull-requests/(\d+)", self._update),
        ]
        return base.dispatch(routes, request, path) or self._errors(404, "NoSuchResource")

    def _errors(self, status: int, message: str) -> gitserver.Response:
        return gitserver.Response(status, {"errors": [{"message": message}]})

    def render(self, pull: base.Pull) -> dict[str, object]:
        href = f"{self.base_url}/projects/{self.key}/repos/{self.slug}/pull-requests/{pull.number}"
        return {
            "id": pull.number,
            "version": pull.version,
            "title": pull.title,
            "description": pull.body,
            "state": _STATE[pull.state],
            "open": pull.state == "open",
            "closed": pull.state != "open",
            "fromRef": {"id": f"refs/heads/{pull.head}", "displayId": pull.head},
            "toRef": {"id": f"refs/heads/{pull.base}", "displayId": pull.base},
            "links": {"self": [{"href": href}]},
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        state = query.get("state", "OPEN")
        if state != "ALL":
            pulls = [p for p in pulls if _STATE[p.state] == state]
        if "at" in query:
            side = "head" if query.get("direction", "INCOMING") == "OUTGOING" else "base"
            pulls = [p for p in pulls if f"refs/heads/{getattr(p, side)}" == query["at"]]
        start = int(query.get("start", "0"))
        limit = int(query.get("limit", "25"))
        chosen = pulls[start : start + limit]
        last = start + limit >= len(pulls)
        page: dict[str, Any] = {
            "size": len(chosen),
            "limit": limit,
            "start": start,
            "isLastPage": last,
            "values": [self.render(p) for p in chosen],
        }
        if not last:
            page["nextPageStart"] = start + limit
        return gitserver.Response(200, page)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"title": str, "fromRef": dict, "toRef": dict})
        if problem:
            return self._errors(400, problem)
        refs = []
        for side in ("fromRef", "toRef"):
            ref = payload[side]
            repository = ref.get("repository", {})
            if (
                repository.get("slug") != self.slug
                or repository.get("project", {}).get("key") != self.key
            ):
                return self._errors(400, f"{side}.repository must name {self.key}/{self.slug}")
            if not str(ref.get("id", "")).startswith("refs/heads/"):
                return self._errors(400, f"{side}.id must be a full ref name")
            refs.append(ref["id"].removeprefix("refs/heads/"))
        if not self.branch_exists(refs[0]):
            return self._errors(404, f"Repository ref '{refs[0]}' does not exist")
        pull = self.add(
            head=refs[0], base=refs[1], title=payload["title"], body=payload.get("description", "")
        )
        if pull is None:
            return gitserver.Response(
                409,
                {
                    "errors": [
                        {
                            "message": "Only one pull request may be open for a given source and "
                            "target branch",
                            "exceptionName": "com.atlassian.bitbucket.pull."
                            "DuplicatePullRequestException",
                        }
                    ]
                },
            )
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self._errors(404, "NoSuchPullRequestException")
        payload = request.json()
        if base.require(payload, {"version": int}):
            return self._errors(400, "version is required")
        if payload["version"] != pull.version:
            return self._errors(409, "PullRequestOutOfDateException: the version is stale")
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        pull.version += 1
        return gitserver.Response(200, self.render(pull))
