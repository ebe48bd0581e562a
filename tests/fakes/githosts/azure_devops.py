"""Fake Azure DevOps pull request API at ``/{org}/{project}/_apis/git/repositories/{repo}``.

Drawn from MicrosoftDocs/vsts-rest-api-specs ``specification/git/7.1/git.json`` and the
on-premises ``specification/git/azure-devops-server-{5.0,6.0,7.0}/git-onprem.json``
("Pull Requests": Get Pull Requests with ``searchCriteria.sourceRefName``/``targetRefName``/
``status`` and ``$top``/``$skip``; Get Pull Request by id; Create with ``sourceRefName``,
``targetRefName``, ``title``, ``description`` of at most 4000 characters, 409
``GitPullRequestExistsException``; Update by id). Honest about:

- ``api-version``, required on every call: a server answers versions above its own with 400
  ``VssVersionOutOfRangeException`` "The requested REST API version of X is out of range for
  this server. The latest REST API version this server supports is Y." — ``server`` picks
  Services (7.1), Server 2022 (7.0), 2020 (6.0) or 2019 (5.0);
- the list truncating ``description`` to 400 characters (7.0 and later: "Please note that
  description field will be truncated up to 400 symbols in the result"); Get by id does not;
- repositories named like their project, cloned as ``/{org}/_git/{repo}`` (no project segment)
  while the API path still names the project (``project_in_clone_url=False``).

Auth: Basic with the personal access token as password.

Commit statuses ("Statuses - List", ``GitStatus``): ``GET /commits/{commitId}/statuses`` with
``latestOnly`` (the latest status of each ``context`` {``genre``, ``name``}), ``state`` one of
``notSet``, ``pending``, ``succeeded``, ``failed``, ``error``, ``notApplicable``.
"""

from __future__ import annotations

import base64
import re

from tests.fakes import gitserver
from tests.fakes.githosts import base

_STATUS = {"open": "active", "closed": "abandoned", "merged": "completed"}
SERVER_VERSIONS = {"services": (7, 1), "2022": (7, 0), "2020": (6, 0), "2019": (5, 0)}
LIST_DESCRIPTION_LIMIT = 400
# GitPullRequest properties a client may send (definitions/GitPullRequest in git.json).
_FIELDS = {"sourceRefName", "targetRefName", "title", "description", "reviewers", "isDraft"}
_FIELDS |= {"labels", "workItemRefs", "completionOptions", "mergeOptions", "autoCompleteSetBy"}
_FIELDS |= {"status", "forkSource", "supportsIterations"}


class FakeAzureDevOps(base.FakeHost):
    """Azure Repos' pull request endpoints for one repository."""

    def __init__(
        self,
        *,
        organization: str,
        project: str,
        repo: str,
        server: str = "services",
        project_in_clone_url: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.server = server
        self.web = (
            f"/{organization}/{project}/_git/{repo}"
            if project_in_clone_url
            else f"/{organization}/_git/{repo}"
        )
        self.prefix = f"/{organization}/{project}/_apis/git/repositories/{repo}"
        self.versions: list[str] = []  # api-version of every request, in order

    def repository_url(self) -> str:
        return f"{self.base_url}{self.web}"

    def authorised(self, request: gitserver.Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        _, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return password == self.token

    def route(self, request: gitserver.Request, path: str) -> gitserver.Response:
        refused = self._version_refused(request.query.get("api-version"))
        if refused is not None:
            return refused
        routes: list[tuple[str, str, base.Route]] = [
            ("GET", "/pullrequests", self._list),
            ("POST", "/pullrequests", self._create),
            ("GET", r"/pullrequests/(\d+)", self._get),
            ("PATCH", r"/pullrequests/(\d+)", self._update),
            ("GET", r"/commits/([0-9a-f]{7,40})/statuses", self._statuses),
        ]
        return base.dispatch(routes, request, path) or self.error(404, "TF401019: not found")

    def _statuses(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        latest = request.query.get("latestOnly") == "true"
        found = self.latest(match[1]) if latest else list(reversed(self.reported.get(match[1], [])))
        values = []
        for item in found:
            genre, _, name = item.context.rpartition("/")
            context = {"name": name, **({"genre": genre} if genre else {})}
            entry = {"state": item.state, "context": context, "description": item.description}
            values.append(entry)
        return gitserver.Response(200, {"count": len(values), "value": values})

    def _version_refused(self, asked: str | None) -> gitserver.Response | None:
        if asked is None:
            return self._exception(
                400,
                "VssInvalidPreviewVersionException",
                "No api-version was supplied for the request. An api-version must be supplied.",
            )
        self.versions.append(asked)
        found = re.fullmatch(r"(\d+)\.(\d+)(-preview(\.\d+)?)?", asked)
        latest = SERVER_VERSIONS[self.server]
        if found is None or (int(found[1]), int(found[2])) > latest:
            return self._exception(
                400,
                "VssVersionOutOfRangeException",
                f"The requested REST API version of {asked} is out of range for this server. "
                f"The latest REST API version this server supports is {latest[0]}.{latest[1]}.",
            )
        return None

    def _exception(self, status: int, key: str, message: str) -> gitserver.Response:
        return gitserver.Response(
            status,
            {
                "$id": "1",
                "innerException": None,
                "message": message,
                "typeName": f"Microsoft.VisualStudio.Services.WebApi.{key}",
                "typeKey": key,
                "errorCode": 0,
                "eventId": 3000,
            },
        )

    def render(self, pull: base.Pull, *, truncate: bool = False) -> dict[str, object]:
        description = pull.body
        if truncate and SERVER_VERSIONS[self.server] >= (7, 0):
            description = description[:LIST_DESCRIPTION_LIMIT]
        return {
            "pullRequestId": pull.number,
            "status": _STATUS[pull.state],
            "sourceRefName": f"refs/heads/{pull.head}",
            "targetRefName": f"refs/heads/{pull.base}",
            "title": pull.title,
            "description": description,
            "url": f"{self.base_url}{self.prefix}/pullRequests/{pull.number}",
            "repository": {"webUrl": f"{self.base_url}{self.web}"},
        }

    def _list(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        query = request.query
        pulls = sorted(self.pulls.values(), key=lambda p: p.number, reverse=True)
        status = query.get("searchCriteria.status", "active")
        if status != "all":
            pulls = [p for p in pulls if _STATUS[p.state] == status]
        for key, side in (("sourceRefName", "head"), ("targetRefName", "base")):
            wanted = query.get(f"searchCriteria.{key}")
            if wanted is not None:
                pulls = [p for p in pulls if f"refs/heads/{getattr(p, side)}" == wanted]
        skip = int(query.get("$skip", "0"))
        top = int(query.get("$top", "101"))
        chosen = pulls[skip : skip + top]
        values = [self.render(p, truncate=True) for p in chosen]
        return gitserver.Response(200, {"value": values, "count": len(chosen)})

    def _get(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "TF401180: The requested pull request was not found.")
        return gitserver.Response(200, self.render(pull))

    def _create(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        payload = request.json()
        problem = base.require(payload, {"sourceRefName": str, "targetRefName": str, "title": str})
        extra = base.unknown(payload, _FIELDS)
        if problem is None and extra:
            problem = f"Unknown property {extra}"
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
            return self._exception(
                409,
                "GitPullRequestExistsException",
                "TF401179: An active pull request for the source and target branch already exists.",
            )
        return gitserver.Response(201, self.render(pull))

    def _update(self, request: gitserver.Request, match: re.Match[str]) -> gitserver.Response:
        pull = self.pulls.get(int(match[1]))
        if pull is None:
            return self.error(404, "TF401180: The requested pull request was not found.")
        payload = request.json()
        extra = base.unknown(payload, _FIELDS)
        if not isinstance(payload, dict) or extra or len(payload.get("description", "")) > 4000:
            return self.error(400, f"invalid update ({extra or 'description too long'})")
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("description", pull.body)
        return gitserver.Response(200, self.render(pull))
