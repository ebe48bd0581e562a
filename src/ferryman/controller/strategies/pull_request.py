"""The ``pull-request`` strategy: push a deterministic branch and find-or-create its pull request.

Steps, each safe to repeat after a crash at any point (DESIGN §4, fault scenarios A1-A3, C5, C6):

1. Patch the markers on a fresh copy of the base branch. Nothing to change means the base already
   runs the revision (the pull request was merged): record that, open nothing.
2. List the pull requests from ``ferryman/<ns>/<pipeline>/<env>`` into the base branch.
3. Policy for a pull request closed without merging: if the newest non-open pull request for
   this branch carries *this* revision's title and was closed unmerged, a person rejected this
   revision — refuse with ``PermanentError(reason="PullRequestClosed")`` instead of reopening it
   or opening a copy behind their back. A newer revision gets a new pull request.
4. Commit and push the branch with ``--force-with-lease`` — unless the remote branch already holds
   the same change on the same base (an earlier attempt pushed it), then nothing is pushed.
5. Adopt the open pull request for the branch (updating title and description to this revision
   when they differ) or create one. There is never more than one open per environment.

Switching over from the original pipeline-controller: when no pull request is open on
Ferryman's branch but one the original opened is (head ``promotion-<ns>-<pipeline>-<env>``),
that one is adopted — its branch receives the commit and it is retitled — instead of opening a
second pull request for the environment. The description names ``<ns>/<pipeline>/<env>``, which
Weave GitOps Enterprise's UI matches to list a pipeline's open pull requests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from ferryman.api import status
from ferryman.controller.strategies import commits
from ferryman.domain import errors, naming, timefmt
from ferryman.ports import git, promotion

log = logging.getLogger(__name__)

MAX_LISTED_FILES: Final = 50
MAX_COMMENT: Final = 200


class PullRequestStrategy:
    """Promote by opening (or updating) one pull request per environment."""

    name = "pull-request"

    def __init__(
        self,
        *,
        workspaces: git.GitWorkspaces,
        hosts: git.GitHosts,
        secrets: promotion.SecretReader,
    ) -> None:
        self._workspaces = workspaces
        self._hosts = hosts
        self._secrets = secrets

    async def preview(self, request: promotion.PromotionRequest) -> status.ChangeSummary:
        spec = request.strategy.pull_request
        if spec is None:
            raise errors.PermanentError("the pull-request strategy has no settings in the spec")
        return await commits.preview(
            self._workspaces,
            self._secrets,
            request,
            url=spec.url,
            branch=spec.base_branch,
            secret_ref=spec.secret_ref,
        )

    async def promote(self, request: promotion.PromotionRequest) -> status.PromotionResult:
        spec = request.strategy.pull_request
        if spec is None:
            raise errors.PermanentError("the pull-request strategy has no settings in the spec")
        creds = await commits.credentials(self._secrets, request.namespace, spec.secret_ref)
        if not creds.token:
            raise errors.PermanentError(
                f'Secret "{spec.secret_ref.name}" has no "token" for the {spec.type.value} API',
                reason="CredentialsInvalid",
            )
        host = self._hosts.host(
            spec.type.value, spec.url, token=creds.token, server_url=spec.server_url, ca=creds.ca
        )
        head = naming.promotion_branch(
            request.namespace, request.pipeline_name, request.environment
        )
        title = naming.pull_request_title(
            pipeline=request.pipeline_name,
            environment=request.environment,
            revision=request.revision,
        )
        async with self._workspaces.open(spec.url, spec.base_branch, creds) as workspace:
            change = await commits.checked_change(workspace, request)
            changed = await workspace.set_markers(token=request.token, revision=request.value)
            existing = await host.find_pull_requests(head=head, base=spec.base_branch)
            if not changed:
                return await _already_there(workspace, existing, title=title, base=spec.base_branch)
            opened = next((pr for pr in existing if pr.state is git.PullRequestState.OPEN), None)
            if opened is None:
                head, opened = await _left_by_original(host, request, head, spec.base_branch)
            if opened is None:
                _refuse_closed(existing, title=title, request=request)
            commit = await workspace.commit(commits.commit_message(request, change.digest))
            commit = await _push(workspace, commit, head=head)
            body = pull_request_body(request, changed, change.digest)
            result = await _open_or_update(
                host, opened, request, head=head, base=spec.base_branch, title=title, body=body
            )
        return status.PromotionResult(
            url=_link(result.url), number=result.number, branch=head, commit=commit
        )


async def _open_or_update(
    host: git.GitHost,
    opened: git.PullRequest | None,
    request: promotion.PromotionRequest,
    *,
    head: str,
    base: str,
    title: str,
    body: str,
) -> git.PullRequest:
    """Create the pull request, or adopt the open one (updated when title or body differ)."""
    if opened is None:
        result = await host.create_pull_request(head=head, base=base, title=title, body=body)
        verb = "Opened"
    elif opened.title != title or opened.body != body:
        result = await host.update_pull_request(opened, title=title, body=body)
        verb = "Updated"
    else:
        return opened
    log.info(
        "%s pull request pipeline=%s/%s environment=%s revision=%s url=%s",
        verb,
        request.namespace,
        request.pipeline_name,
        request.environment,
        request.revision,
        result.url,
    )
    return result


async def _left_by_original(
    host: git.GitHost, request: promotion.PromotionRequest, head: str, base: str
) -> tuple[str, git.PullRequest | None]:
    """The original controller's open pull request for this environment, with its branch; else
    Ferryman's branch and ``None``."""
    original = naming.original_promotion_branch(
        request.namespace, request.pipeline_name, request.environment
    )
    found = await host.find_pull_requests(head=original, base=base)
    left = next((pr for pr in found if pr.state is git.PullRequestState.OPEN), None)
    return (original, left) if left is not None else (head, None)


async def _already_there(
    workspace: git.GitWorkspace,
    existing: Sequence[git.PullRequest],
    *,
    title: str,
    base: str,
) -> status.PromotionResult:
    """The result when the base branch already has the revision: name the merged PR if any."""
    merged = next(
        (pr for pr in existing if pr.state is git.PullRequestState.MERGED and pr.title == title),
        None,
    )
    commit = await workspace.head()
    if merged is None:
        return status.PromotionResult(branch=base, commit=commit)
    return status.PromotionResult(
        url=_link(merged.url), number=merged.number, branch=base, commit=commit
    )


def _refuse_closed(
    existing: Sequence[git.PullRequest], *, title: str, request: promotion.PromotionRequest
) -> None:
    """Raise ``PullRequestClosed`` when the newest finished PR is this revision's, unmerged."""
    finished = next((pr for pr in existing if pr.state is not git.PullRequestState.OPEN), None)
    if finished is None or finished.state is not git.PullRequestState.CLOSED:
        return
    if finished.title != title:
        return
    raise errors.PermanentError(
        f"pull request #{finished.number} ({finished.url}) promoting {request.revision} to "
        f"{request.environment} was closed without merging; Ferryman does not reopen it. "
        "A newer revision opens a new pull request.",
        reason="PullRequestClosed",
    )


async def _push(workspace: git.GitWorkspace, commit: str, *, head: str) -> str:
    """Push ``commit`` to ``head`` unless the same change is there already; the commit there."""
    tip = await workspace.remote_tip(head)
    if tip is not None and await workspace.same_change(commit, remote_branch=head, tip=tip):
        return tip
    outcome = await workspace.push(branch=head, lease=tip or "")
    if outcome is git.PushOutcome.REJECTED:
        raise errors.TemporaryError(
            f'branch "{head}" changed while Ferryman pushed to it', reason="PushRejected"
        )
    return commit


def pull_request_body(
    request: promotion.PromotionRequest, changed: Sequence[str], change_digest: str = ""
) -> str:
    """The description: pipeline, environments, revision, approvals and the changed files."""
    lines = [
        f"Ferryman promotes **{_inline(request.pipeline_name)}** to "
        f"**{_inline(request.environment)}**.",
        "",
        f"- Pipeline: `{_inline(request.namespace)}/{_inline(request.pipeline_name)}`",
        f"- Environments: `{_inline(request.source_environment)}` → "
        f"`{_inline(request.environment)}`",
        f"- Revision: `{_inline(request.revision)}`"
        + (
            f" (written as `{_inline(request.value)}`)" if request.value != request.revision else ""
        ),
        "",
    ]
    if request.approvals:
        lines.append("Approvals:")
        for approval in request.approvals:
            comment = _inline(approval.comment)[:MAX_COMMENT]
            entry = f"- {_inline(approval.user)} at {timefmt.iso(approval.at)}"
            lines.append(entry + (f": {comment}" if comment else ""))
    else:
        lines.append("No approval was required.")
    if change_digest:
        lines += ["", f"Change digest (what the approvals were given for): `{change_digest}`"]
    lines += ["", "Changed files:"]
    lines += [f"- `{_inline(name)}`" for name in changed[:MAX_LISTED_FILES]]
    if len(changed) > MAX_LISTED_FILES:
        lines.append(f"- … and {len(changed) - MAX_LISTED_FILES} more")
    # Weave GitOps Enterprise lists a pipeline's open pull requests by this text.
    wge = f"{request.namespace}/{request.pipeline_name}/{request.environment}"
    lines += ["", "<details>", "<summary>metadata</summary>", "", _inline(wge), "</details>"]
    return "\n".join(lines) + "\n"


def _inline(value: str) -> str:
    """``value`` on one line, without backticks that would break the Markdown around it."""
    return "".join(char if char.isprintable() else " " for char in value).replace("`", "'").strip()


def _link(url: str | None) -> str | None:
    """The pull request's address for status, or none when a host answers one longer than
    status holds (a cut link would lead elsewhere; the number still names it)."""
    return url if url is not None and len(url) <= status.MAX_URL_LENGTH else None
