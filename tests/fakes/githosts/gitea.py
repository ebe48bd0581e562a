"""Fake Gitea pull request API at ``/api/v1/repos/{owner}/{repo}``.

Shapes follow Gitea's API reference (https://gitea.com/api/swagger: repoListPullRequests with
``state``/``sort``/``page``/``limit``, repoCreatePullRequest with ``head``/``base``/``title``/
``body`` and 409 when an open one exists, repoEditPullRequest answering 201). Auth:
``Authorization: token <token>``.
"""

from __future__ import annotations

import re

from fakes import gitserver
from fakes.githosts import base


class FakeGitea(base.FakeHost):
    """Gitea's pulls endpoints for one repository."""

    def __init__(self, *, owner: str, repo: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.owner = owner
        self.repo = repo
        self.prefix = f"/api/v1/repos/{owner}/{repo}"

    def repository_url(self) -> str:
        return f"{self.base_url}/{self.owner}/{self.repo}.git"

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("authorization") == f"token {self.token}"

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pulls", self._list),
            ("POST", "/pulls", self._create),
            ("PATCH", r"/pulls/(\d+)", self._update),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "Not Found")

    def render(self, pull: base.Pull) -> dict[str, object]:
        return {
            "number": pull.number,
            "html_url": f"{self.base_url}/{self.owner}/{self.repo}/pulls/{pull.number}",
            "state": "open" if pull.state == "open" else "closed",
            "merged": pull.state == "merged",
            "head": {"ref": pull.head, "label": pull.head},
            "base": {"ref": pull.base, "label": pull.base},
            "title": pull.title,
            "body": pull.body,
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        state = query.get("state", "open")
        if state != "all":
            pulls = [p for p in pulls if (p.state == "open") == (state == "open")]
        page = int(query.get("page", "1"))
        limit = int(query.get("limit", "30"))
        chosen = pulls[(page - 1) * limit : page * limit]
        headers = {"X-Total-Count": str(len(pulls))}
        return gitserver.Response(200, [self.render(p) for p in chosen], headers)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"head": str, "base": str, "title": str})
        if problem:
            return gitserver.Response(422, {"message": problem})
        if not self.branch_exists(payload["head"]):
            return self.error(404, "The target couldn't be found.")
        pull = self.add(
            head=payload["head"],
            base=payload["base"],
            title=payload["title"],
            body=payload.get("body", ""),
        )
        if pull is None:
            return self.error(409, "pull request already exists for these targets")
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "Not Found")
        payload = request.json()
        if not isinstance(payload, dict):
            return gitserver.Response(422, {"message": "invalid body"})
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("body", pull.body)
        return gitserver.Response(201, self.render(pull))
