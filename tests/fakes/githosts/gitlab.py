"""Fake GitLab merge request API at ``/api/v4/projects/:id`` (id: URL-encoded path).

Shapes follow https://docs.gitlab.com/ee/api/merge_requests.html ("List project merge
requests" with ``source_branch``/``target_branch``/``state``, ``X-Next-Page`` pagination;
"Create MR" with ``source_branch``, ``target_branch``, ``title`` required, 409 when an open one
exists for the branches; "Update MR" by ``iid``). Auth: ``PRIVATE-TOKEN``.
"""

from __future__ import annotations

import re
from urllib import parse

from fakes import gitserver
from fakes.githosts import base

_STATE = {"open": "opened", "closed": "closed", "merged": "merged"}


class FakeGitLab(base.FakeHost):
    """GitLab's merge request endpoints for one project."""

    def __init__(self, *, project: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.project = project
        self.prefix = f"/api/v4/projects/{parse.quote(project, safe='')}"

    def repository_url(self) -> str:
        return f"{self.base_url}/{self.project}.git"

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("private-token") == self.token

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/merge_requests", self._list),
            ("POST", "/merge_requests", self._create),
            ("PUT", r"/merge_requests/(\d+)", self._update),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "404 Not found")

    def render(self, pull: base.Pull) -> dict[str, object]:
        return {
            "id": 1000 + pull.number,
            "iid": pull.number,
            "web_url": f"{self.base_url}/{self.project}/-/merge_requests/{pull.number}",
            "state": _STATE[pull.state],
            "source_branch": pull.head,
            "target_branch": pull.base,
            "title": pull.title,
            "description": pull.body,
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        if "state" in query and query["state"] != "all":
            pulls = [p for p in pulls if _STATE[p.state] == query["state"]]
        if "source_branch" in query:
            pulls = [p for p in pulls if p.head == query["source_branch"]]
        if "target_branch" in query:
            pulls = [p for p in pulls if p.base == query["target_branch"]]
        per_page = int(query.get("per_page", "20"))
        page = int(query.get("page", "1"))
        headers = {"X-Next-Page": str(page + 1) if page * per_page < len(pulls) else ""}
        chosen = pulls[(page - 1) * per_page : page * per_page]
        return gitserver.Response(200, [self.render(p) for p in chosen], headers)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"source_branch": str, "target_branch": str, "title": str})
        if problem:
            return gitserver.Response(400, {"message": problem})
        if not self.branch_exists(payload["source_branch"]):
            return gitserver.Response(400, {"message": ["Source branch does not exist"]})
        pull = self.add(
            head=payload["source_branch"],
            base=payload["target_branch"],
            title=payload["title"],
            body=payload.get("description", ""),
        )
        if pull is None:
            message = ["Another open merge request already exists for this source branch"]
            return gitserver.Response(409, {"message": message})
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "404 Not found")
        payload = request.json()
        if not isinstance(payload, dict) or not set(payload) <= {
            "title",
            "description",
            "target_branch",
        }:
            return gitserver.Response(400, {"message": "unknown field"})
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        return gitserver.Response(200, self.render(pull))
