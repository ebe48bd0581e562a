"""Fake GitHub (Enterprise) pull request API at ``/api/v3/repos/{owner}/{repo}``.

Drawn from github/rest-api-description ``descriptions/api.github.com/api.github.com.yaml``
(operations ``pulls/list``, ``pulls/create``, ``pulls/update``; schemas ``pull-request``,
``validation-error``): ``head`` filter as ``owner:branch``, ``state=all``, ``per_page`` at most
100, ``Link`` pagination; create requires ``head`` and ``base`` (and ``title`` unless
``issue``); update takes ``title``, ``body``, ``state``, ``base``, ``maintainer_can_modify``.
422 "Validation Failed" for a missing head branch and — unlike the other hosts' 409 — for a
duplicate open pull request ("A pull request already exists for owner:branch."). Merged pull
requests are ``state: closed`` with ``merged_at``. Secondary rate limits: see ``base``.

Commit statuses: ``repos/get-combined-status-for-ref`` (schema ``combined-commit-status``: the
latest status per context, and ``state`` ``failure`` if any is ``error``/``failure``, ``pending``
if any is pending or none exists, else ``success``) and ``checks/list-for-ref`` (schema
``check-run``: ``status`` ``queued``/``in_progress``/``completed``, ``conclusion`` once
completed).
"""

from __future__ import annotations

import re

from tests.fakes import gitserver
from tests.fakes.githosts import base

_CREATE_FIELDS = {"title", "head", "head_repo", "base", "body", "maintainer_can_modify", "draft"}
_CREATE_FIELDS |= {"issue"}
_UPDATE_FIELDS = {"title", "body", "state", "base", "maintainer_can_modify"}


class FakeGitHub(base.FakeHost):
    """GitHub's pulls endpoints for one repository."""

    def __init__(self, *, owner: str, repo: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.owner = owner
        self.prefix = f"/api/v3/repos/{owner}/{repo}"
        self.repo = repo

    def repository_url(self) -> str:
        return f"{self.base_url}/{self.owner}/{self.repo}.git"

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("authorization") in (
            f"Bearer {self.token}",
            f"token {self.token}",
        )

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pulls", self._list),
            ("POST", "/pulls", self._create),
            ("PATCH", r"/pulls/(\d+)", self._update),
            ("GET", r"/commits/([0-9a-f]{7,40})/status", self._combined),
            ("GET", r"/commits/([0-9a-f]{7,40})/check-runs", self._check_runs),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "Not Found")

    def _combined(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        found = self.latest(match[1], check_runs=False)
        states = {item.state for item in found}
        combined = "pending"
        if states & {"error", "failure"}:
            combined = "failure"
        elif found and states == {"success"}:
            combined = "success"
        statuses = [
            {"context": i.context, "state": i.state, "description": i.description or None}
            for i in found
        ]
        body = {"state": combined, "sha": match[1], "total_count": len(found), "statuses": statuses}
        return gitserver.Response(200, body)

    def _check_runs(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        runs = []
        for item in self.latest(match[1], check_runs=True):
            waiting = item.state in ("queued", "in_progress")
            runs.append(
                {
                    "name": item.context,
                    "status": item.state if waiting else "completed",
                    "conclusion": None if waiting else item.state,
                    "output": {"title": item.description or None},
                }
            )
        return gitserver.Response(200, {"total_count": len(runs), "check_runs": runs})

    def render(self, pull: base.Pull) -> dict[str, object]:
        return {
            "number": pull.number,
            "html_url": f"{self.base_url}/{self.owner}/{self.repo}/pull/{pull.number}",
            "state": "open" if pull.state == "open" else "closed",
            "merged_at": "2026-11-28T16:00:00Z" if pull.state == "merged" else None,
            "head": {"ref": pull.head, "label": f"{self.owner}:{pull.head}"},
            "base": {"ref": pull.base},
            "title": pull.title,
            "body": pull.body,
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        state = query.get("state", "open")
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        if state != "all":
            pulls = [p for p in pulls if (p.state == "open") == (state == "open")]
        if "head" in query:
            pulls = [p for p in pulls if f"{self.owner}:{p.head}" == query["head"]]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        chosen = pulls[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(pulls):
            following = dict(query, page=str(page + 1))
            link = f"{self.base_url}{request.path}?" + "&".join(
                f"{k}={v}" for k, v in following.items()
            )
            headers["Link"] = f'<{link}>; rel="next"'
        return gitserver.Response(200, [self.render(p) for p in chosen], headers)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"title": str, "head": str, "base": str})
        if problem is None and not isinstance(payload.get("body", ""), str):
            problem = '"body" must be a string'
        extra = base.unknown(payload, _CREATE_FIELDS)
        if problem is None and extra:
            problem = f'"{extra}" is not a permitted key.'
        if problem:
            return gitserver.Response(422, {"message": "Validation Failed", "errors": [problem]})
        if not self.branch_exists(payload["head"]):
            return gitserver.Response(
                422,
                {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]},
            )
        pull = self.add(
            head=payload["head"],
            base=payload["base"],
            title=payload["title"],
            body=payload.get("body", ""),
        )
        if pull is None:
            message = f"A pull request already exists for {self.owner}:{payload['head']}."
            return gitserver.Response(
                422, {"message": "Validation Failed", "errors": [{"message": message}]}
            )
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "Not Found")
        payload = request.json()
        extra = base.unknown(payload, _UPDATE_FIELDS)
        if not isinstance(payload, dict) or extra:
            return gitserver.Response(
                422,
                {"message": "Validation Failed", "errors": [f'"{extra}" is not a permitted key.']},
            )
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("body", pull.body)
        return gitserver.Response(200, self.render(pull))
