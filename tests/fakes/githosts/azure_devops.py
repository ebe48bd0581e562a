"""Fake Azure DevOps pull request API at ``/{org}/{project}/_apis/git/repositories/{repo}``.

Shapes follow https://learn.microsoft.com/rest/api/azure/devops/git/pull-requests ("Get Pull
Requests" with ``searchCriteria.sourceRefName``/``targetRefName``/``status``, ``$top``/``$skip``;
"Create" with ``sourceRefName``, ``targetRefName``, ``title``, ``description`` (at most 4000
characters), 409 ``GitPullRequestExistsException``; "Update" by id). Every call needs
``api-version``. Auth: Basic with the personal access token as password.
"""

from __future__ import annotations

import base64
import re

from fakes import gitserver
from fakes.githosts import base

_STATUS = {"open": "active", "closed": "abandoned", "merged": "completed"}


class FakeAzureDevOps(base.FakeHost):
    """Azure Repos' pull request endpoints for one repository."""

    def __init__(self, *, organization: str, project: str, repo: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.web = f"/{organization}/{project}/_git/{repo}"
        self.prefix = f"/{organization}/{project}/_apis/git/repositories/{repo}"

    def repository_url(self) -> str:
        return f"{self.base_url}{self.web}"

    def authorised(self, request: gitserver.Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        _, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return password == self.token

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        if request.query.get("api-version") != "7.1":
            return self.error(400, "VssVersionOutOfRangeException: api-version 7.1 is required")
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pullrequests", self._list),
            ("POST", "/pullrequests", self._create),
            ("PATCH", r"/pullrequests/(\d+)", self._update),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "TF401019: not found")

    def render(self, pull: base.Pull) -> dict[str, object]:
        return {
            "pullRequestId": pull.number,
            "status": _STATUS[pull.state],
            "sourceRefName": f"refs/heads/{pull.head}",
            "targetRefName": f"refs/heads/{pull.base}",
            "title": pull.title,
            "description": pull.body,
            "url": f"{self.base_url}{self.prefix}/pullRequests/{pull.number}",
            "repository": {"webUrl": f"{self.base_url}{self.web}"},
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        status = query.get("searchCriteria.status", "active")
        if status != "all":
            pulls = [p for p in pulls if _STATUS[p.state] == status]
        if "searchCriteria.sourceRefName" in query:
            pulls = [
                p for p in pulls if f"refs/heads/{p.head}" == query["searchCriteria.sourceRefName"]
            ]
        if "searchCriteria.targetRefName" in query:
            pulls = [
                p for p in pulls if f"refs/heads/{p.base}" == query["searchCriteria.targetRefName"]
            ]
        skip = int(query.get("$skip", "0"))
        top = int(query.get("$top", "101"))
        chosen = pulls[skip : skip + top]
        return gitserver.Response(
            200, {"value": [self.render(p) for p in chosen], "count": len(chosen)}
        )

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"sourceRefName": str, "targetRefName": str, "title": str})
        if problem is None and len(payload.get("description", "")) > 4000:
            problem = "description is longer than 4000 characters"
        if problem:
            return self.error(400, problem)
        head = payload["sourceRefName"].removeprefix("refs/heads/")
        if not self.branch_exists(head):
            return self.error(404, f"TF401398: The source branch {head} does not exist")
        pull = self.add(
            head=head,
            base=payload["targetRefName"].removeprefix("refs/heads/"),
            title=payload["title"],
            body=payload.get("description", ""),
        )
        if pull is None:
            return gitserver.Response(
                409,
                {
                    "message": "TF401179: An active pull request for the source and target "
                    "branch already exists.",
                    "typeKey": "GitPullRequestExistsException",
                },
            )
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "TF401180: The requested pull request was not found.")
        payload = request.json()
        if not isinstance(payload, dict) or len(payload.get("description", "")) > 4000:
            return self.error(400, "invalid update")
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        return gitserver.Response(200, self.render(pull))
