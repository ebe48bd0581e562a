"""Fake Bitbucket Server pull request API at ``/rest/api/1.0/projects/{KEY}/repos/{slug}``.

Drawn from the Bitbucket Data Center REST API reference
(https://developer.atlassian.com/server/bitbucket/rest/v905/api-group-pull-requests/: get pull
requests with ``state``/``direction``/``at``, paged by ``start``/``limit`` with ``isLastPage``/
``nextPageStart``; create with ``fromRef``/``toRef`` refs, 409
``DuplicatePullRequestException``; update with the current ``version``, 409
``PullRequestOutOfDateException`` when stale) and the Java API it fronts
(``com.atlassian.bitbucket.pull.PullRequestUpdateRequest.getReviewers``: "the new set of
reviewers … Any current reviewer not in this set will be relegated to participant status").

Honest about what bit Ferryman:

- reviewers: the update's ``reviewers`` is the new full set; leaving it out removes them all
  (default reviewers added at creation, people who approved);
- project keys: clone URLs show the key in lower case (``/scm/ops/deploy.git``); REST paths
  need it as stored (``OPS``) and answer ``NoSuchProjectException`` otherwise.

Auth: ``Authorization: Bearer <HTTP access token>``.

Build statuses ("Updating build status for commits", build-status REST API 1.0): ``GET
/rest/build-status/1.0/commits/{commitId}`` pages every build result posted for the commit —
several per ``key`` when a build ran again — with ``state`` ``SUCCESSFUL``, ``FAILED`` or
``INPROGRESS``, ``key``, ``name``, ``url``, ``description`` and ``dateAdded`` (milliseconds).
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes import gitserver
from tests.fakes.githosts import base

_STATE = {"open": "OPEN", "closed": "DECLINED", "merged": "MERGED"}


_CREATE_FIELDS = {"title", "description", "fromRef", "toRef", "reviewers", "draft", "state"}
_CREATE_FIELDS |= {"open", "closed", "locked"}
_UPDATE_FIELDS = {"version", "title", "description", "reviewers", "toRef", "draft", "id"}


class FakeBitbucketServer(base.FakeHost):
    """Bitbucket Server's pull request endpoints for one repository."""

    def __init__(
        self, *, key: str, slug: str, default_reviewers: tuple[str, ...] = (), **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self.slug = slug
        self.default_reviewers = default_reviewers
        self.prefix = f"/rest/api/1.0/projects/{key}/repos/{slug}"

    def repository_url(self) -> str:
        return f"{self.base_url}/scm/{self.key.lower()}/{self.slug}.git"

    def approve(self, number: int, user: str) -> None:
        """``user`` reviews and approves pull request ``number`` (as in the web UI)."""
        self.pulls[number].reviewers[user] = True

    def handle(self, request: gitserver.Request) -> gitserver.Response:
        builds = re.fullmatch(r"/rest/build-status/1\.0/commits/([0-9a-f]{7,40})", request.path)
        if builds and request.method == "GET":
            self.requests.append(request)
            if not self.authorised(request):
                return self._errors(401, "Authentication failed")
            return self._builds(builds[1])
        projects = re.match(r"/rest/api/1\.0/projects/([^/]+)/", request.path)
        if projects and projects[1] != self.key:
            return gitserver.Response(
                404,
                {
                    "errors": [
                        {
                            "context": None,
                            "message": f"Project {projects[1]} does not exist.",
                            "exceptionName": "com.atlassian.bitbucket.project."
                            "NoSuchProjectException",
                        }
                    ]
                },
            )
        return super().handle(request)

    def _builds(self, commit: str) -> gitserver.Response:
        values = [
            {
                "state": item.state,
                "key": item.context,
                "name": item.context,
                "url": f"{self.base_url}/ci/{item.context}",
                "description": item.description,
                "dateAdded": 1_764_000_000_000 + item.at,
            }
            for item in self.reported.get(commit, [])
        ]
        body = {"size": len(values), "limit": 25, "isLastPage": True, "values": values, "start": 0}
        return gitserver.Response(200, body)

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
            "reviewers": [
                {
                    "user": {"name": name, "slug": name, "displayName": name.title()},
                    "role": "REVIEWER",
                    "approved": approved,
                    "status": "APPROVED" if approved else "UNAPPROVED",
                }
                for name, approved in pull.reviewers.items()
            ],
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
        extra = base.unknown(payload, _CREATE_FIELDS)
        if problem or extra:
            return self._errors(400, problem or f'Unrecognized field "{extra}"')
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
        if pull is not None:
            pull.reviewers = dict.fromkeys(self.default_reviewers, False)
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
        extra = base.unknown(payload, _UPDATE_FIELDS)
        if extra:
            return self._errors(400, f'Unrecognized field "{extra}"')
        if payload["version"] != pull.version:
            return self._errors(409, "PullRequestOutOfDateException: the version is stale")
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        # The update's reviewers are the new full set: anyone left out stops reviewing.
        named = [entry.get("user", {}).get("name") for entry in payload.get("reviewers", [])]
        pull.reviewers = {name: pull.reviewers.get(name, False) for name in named if name}
        pull.version += 1
        return gitserver.Response(200, self.render(pull))
