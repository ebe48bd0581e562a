"""Fake GitLab merge request API at ``[/<relative_url_root>]/api/v4/projects/:id``.

Drawn from GitLab's API docs (https://docs.gitlab.com/api/merge_requests/: "List project merge
requests" with ``source_branch``/``target_branch``/``state``, ``per_page`` at most 100,
``X-Next-Page`` pagination; "Create MR" with ``source_branch``, ``target_branch``, ``title``
required, 409 when an open one exists for the source branch; "Update MR" by ``iid``;
https://docs.gitlab.com/api/version/: ``GET /version``; https://docs.gitlab.com/api/rest/troubleshooting/:
a missing parameter answers 400 ``{"error": "title is missing"}``, model validation 400
``{"message": {"<field>": ["<message>"]}}``, other messages may be lists). ``root`` serves the
API under a sub-path as an instance with ``relative_url_root`` does; everything else there is
404, like the web server in front of it. Auth: ``PRIVATE-TOKEN``.

Commit statuses (https://docs.gitlab.com/api/commits/, "List the statuses of a commit"): the
latest status of each job name unless ``all=true``, ``status`` one of ``created``, ``pending``,
``running``, ``success``, ``failed``, ``canceled``, ``skipped``, ``manual``..., with
``allow_failure``.
"""

from __future__ import annotations

import re
from urllib import parse

from tests.fakes import gitserver
from tests.fakes.githosts import base

_STATE = {"open": "opened", "closed": "closed", "merged": "merged"}
_CREATE_FIELDS = {"source_branch", "target_branch", "title", "description", "assignee_id"}
_CREATE_FIELDS |= {"assignee_ids", "reviewer_ids", "labels", "milestone_id", "squash"}
_CREATE_FIELDS |= {"remove_source_branch", "allow_collaboration", "target_project_id"}
_UPDATE_FIELDS = {"title", "description", "target_branch", "state_event", "assignee_id"}
_UPDATE_FIELDS |= {"assignee_ids", "reviewer_ids", "labels", "milestone_id", "squash"}
_UPDATE_FIELDS |= {"remove_source_branch", "discussion_locked", "allow_collaboration"}


class FakeGitLab(base.FakeHost):
    """GitLab's merge request endpoints for one project."""

    def __init__(self, *, project: str, root: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.project = project
        self.root = root
        self.prefix = f"{root}/api/v4/projects/{parse.quote(project, safe='')}"

    def repository_url(self) -> str:
        return f"{self.base_url}{self.root}/{self.project}.git"

    def handle(self, request: gitserver.Request) -> gitserver.Response:
        if request.method == "GET" and request.path == f"{self.root}/api/v4/version":
            if not self.authorised(request):
                return self.error(401, "401 Unauthorized")
            return gitserver.Response(200, {"version": "17.0.0-ee", "revision": "0f1e2d3c"})
        return super().handle(request)

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("private-token") == self.token

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/merge_requests", self._list),
            ("POST", "/merge_requests", self._create),
            ("PUT", r"/merge_requests/(\d+)", self._update),
            ("GET", r"/repository/commits/([0-9a-f]{7,40})/statuses", self._statuses),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "404 Not found")

    def _statuses(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        every = request.query.get("all") == "true"
        found = list(reversed(self.reported.get(match[1], []))) if every else self.latest(match[1])
        body = [
            {
                "name": item.context,
                "status": item.state.removesuffix("+allowed"),
                "description": item.description or None,
                "allow_failure": item.state.endswith("+allowed"),
            }
            for item in found
        ]
        return gitserver.Response(200, body, {"X-Next-Page": ""})

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
        per_page = min(int(query.get("per_page", "20")), 100)
        page = int(query.get("page", "1"))
        headers = {"X-Next-Page": str(page + 1) if page * per_page < len(pulls) else ""}
        chosen = pulls[(page - 1) * per_page : page * per_page]
        return gitserver.Response(200, [self.render(p) for p in chosen], headers)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        for name in ("source_branch", "target_branch", "title"):
            if not isinstance(payload, dict) or not isinstance(payload.get(name), str):
                return gitserver.Response(400, {"error": f"{name} is missing"})
        extra = base.unknown(payload, _CREATE_FIELDS)
        if extra:
            return gitserver.Response(400, {"error": f"{extra} does not have a valid value"})
        if not self.branch_exists(payload["source_branch"]):
            return gitserver.Response(400, {"message": ["Source branch does not exist"]})
        pull = self.add(
            head=payload["source_branch"],
            base=payload["target_branch"],
            title=payload["title"],
            body=payload.get("description", ""),
        )
        if pull is None:
            existing = next(p.number for p in self.open_pulls(payload["source_branch"]))
            message = [
                f"Another open merge request already exists for this source branch: !{existing}"
            ]
            return gitserver.Response(409, {"message": message})
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "404 Not found")
        payload = request.json()
        extra = base.unknown(payload, _UPDATE_FIELDS)
        if not isinstance(payload, dict) or extra:
            return gitserver.Response(400, {"error": f"{extra} does not have a valid value"})
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        return gitserver.Response(200, self.render(pull))
