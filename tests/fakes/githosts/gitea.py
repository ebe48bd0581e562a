"""Fake Gitea pull request API at ``[/<sub-path>]/api/v1/repos/{owner}/{repo}``.

Drawn from go-gitea/gitea ``templates/swagger/v1_json.tmpl`` (repoListPullRequests with
``state``/``sort``/``page``/``limit``; repoCreatePullRequest with ``CreatePullRequestOption`` —
``head``, ``base``, ``title`` required — 409 when an open one exists; repoEditPullRequest with
``EditPullRequestOption``, answering 201) and the code behind it:

- ``routers/api/v1/repo/pull.go`` ``ListPullRequests``: ``limit`` is clamped to the server's
  ``MAX_RESPONSE_ITEMS`` (``max_response_items`` here, 50 by default), and the answer carries
  ``X-Total-Count`` and a ``Link`` header computed with the clamped page size.
- ``services/convert/pull.go`` ``ToAPIPullRequest``: ``head.label`` is the branch name;
  ``head.ref`` is the branch while it exists and ``refs/pull/<index>/head`` once it is deleted.

Auth: ``Authorization: token <token>``. Validation errors: 422 ``{"message", "url"}``.

Commit statuses: repoGetCombinedStatusByRef, with ``modules/structs/status.go``'s shapes: each
``CommitStatus`` spells its state ``status``, the ``CombinedStatus`` spells it ``state``.
"""

from __future__ import annotations

import re

from tests.fakes import gitserver
from tests.fakes.githosts import base

_CREATE_FIELDS = {"head", "base", "title", "body", "assignee", "assignees", "milestone", "labels"}
_CREATE_FIELDS |= {"due_date", "reviewers", "team_reviewers"}
_EDIT_FIELDS = {"title", "body", "base", "assignee", "assignees", "milestone", "labels", "state"}
_EDIT_FIELDS |= {"due_date", "unset_due_date", "allow_maintainer_edit"}


class FakeGitea(base.FakeHost):
    """Gitea's pulls endpoints for one repository."""

    def __init__(
        self,
        *,
        owner: str,
        repo: str,
        sub_path: str = "",
        max_response_items: int = 50,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.owner = owner
        self.repo = repo
        self.sub_path = sub_path
        self.max_response_items = max_response_items
        self.prefix = f"{sub_path}/api/v1/repos/{owner}/{repo}"

    def repository_url(self) -> str:
        return f"{self.base_url}{self.sub_path}/{self.owner}/{self.repo}.git"

    def authorised(self, request: gitserver.Request) -> bool:
        return request.headers.get("authorization") == f"token {self.token}"

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pulls", self._list),
            ("POST", "/pulls", self._create),
            ("PATCH", r"/pulls/(\d+)", self._update),
            ("GET", r"/commits/([0-9a-f]{7,40})/status", self._combined),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "Not Found")

    def _combined(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        found = self.latest(match[1])
        states = {item.state for item in found}
        combined = "failure" if states & {"error", "failure"} else "pending"
        if found and states <= {"success", "warning"}:
            combined = "success"
        statuses = [
            {"id": n, "context": i.context, "status": i.state, "description": i.description}
            for n, i in enumerate(found, 1)
        ]
        body = {"state": combined, "sha": match[1], "total_count": len(found), "statuses": statuses}
        return gitserver.Response(200, body)

    def render(self, pull: base.Pull) -> dict[str, object]:
        head_ref = pull.head if self.branch_exists(pull.head) else f"refs/pull/{pull.number}/head"
        web = f"{self.base_url}{self.sub_path}/{self.owner}/{self.repo}"
        return {
            "number": pull.number,
            "html_url": f"{web}/pulls/{pull.number}",
            "state": "open" if pull.state == "open" else "closed",
            "merged": pull.state == "merged",
            "head": {"label": pull.head, "ref": head_ref},
            "base": {"label": pull.base, "ref": pull.base},
            "title": pull.title,
            "body": pull.body,
        }

    def _invalid(self, message: str) -> gitserver.Response:
        return gitserver.Response(422, {"message": message, "url": f"{self.base_url}/api/swagger"})

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        state = query.get("state", "open")
        if state != "all":
            pulls = [p for p in pulls if (p.state == "open") == (state == "open")]
        page = max(int(query.get("page", "1")), 1)
        asked = int(query.get("limit", "0") or 0)
        limit = self.max_response_items if asked <= 0 else min(asked, self.max_response_items)
        chosen = pulls[(page - 1) * limit : page * limit]
        headers = {"X-Total-Count": str(len(pulls))}
        if page * limit < len(pulls):
            following = dict(query, page=str(page + 1), limit=str(limit))
            link = f"{self.base_url}{request.path}?" + "&".join(
                f"{k}={v}" for k, v in following.items()
            )
            headers["Link"] = f'<{link}>; rel="next"'
        return gitserver.Response(200, [self.render(p) for p in chosen], headers)

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"head": str, "base": str, "title": str})
        extra = base.unknown(payload, _CREATE_FIELDS)
        if problem or extra:
            return self._invalid(problem or f'unknown field "{extra}"')
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
        extra = base.unknown(payload, _EDIT_FIELDS)
        if not isinstance(payload, dict) or extra:
            return self._invalid(f'unknown field "{extra}"')
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("body", pull.body)
        return gitserver.Response(201, self.render(pull))
