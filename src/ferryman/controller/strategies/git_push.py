"""The ``git-push`` strategy: commit the marker change straight to a branch and push it.

Idempotency (DESIGN §4): the markers are patched first; when they already read the revision the
change is on the branch already — an earlier attempt pushed it and crashed before recording, or
someone else made it — so nothing is committed and the result names the commit that made it,
found by its trailers (``Ferryman-Pipeline``/``-Environment``/``-Revision``), else the branch tip.
A push rejected as non-fast-forward (someone pushed meanwhile) is retried a bounded number of
times on a freshly fetched branch, re-applying the markers, never by force.

Credentials, commit message and trailers come from ``commits``, shared with the pull-request
strategy, so both write the same auditable commits.
"""

from __future__ import annotations

import logging
from typing import Final

from ferryman.api import status
from ferryman.controller.strategies import commits
from ferryman.domain import errors
from ferryman.ports import git, promotion

log = logging.getLogger(__name__)

MAX_PUSH_ATTEMPTS: Final = 3


class GitPushStrategy:
    """Promote by pushing a commit to ``spec.git-push.branch``."""

    name = "git-push"

    def __init__(self, *, workspaces: git.GitWorkspaces, secrets: promotion.SecretReader) -> None:
        self._workspaces = workspaces
        self._secrets = secrets

    async def preview(self, request: promotion.PromotionRequest) -> status.ChangeSummary:
        spec = request.strategy.git_push
        if spec is None:
            raise errors.PermanentError("the git-push strategy has no settings in the spec")
        return await commits.preview(
            self._workspaces,
            self._secrets,
            request,
            url=spec.url,
            branch=spec.branch,
            secret_ref=spec.secret_ref,
        )

    async def promote(self, request: promotion.PromotionRequest) -> status.PromotionResult:
        spec = request.strategy.git_push
        if spec is None:
            raise errors.PermanentError("the git-push strategy has no settings in the spec")
        creds = await commits.credentials(self._secrets, request.namespace, spec.secret_ref)
        async with self._workspaces.open(spec.url, spec.branch, creds) as workspace:
            for _ in range(MAX_PUSH_ATTEMPTS):
                change = await commits.checked_change(workspace, request)
                changed = await workspace.set_markers(token=request.token, revision=request.value)
                if not changed:
                    existing = await workspace.find_commit(commits.trailers(request))
                    commit = existing or await workspace.head()
                    log.info(
                        "Revision already on branch pipeline=%s/%s environment=%s revision=%s",
                        request.namespace,
                        request.pipeline_name,
                        request.environment,
                        request.revision,
                    )
                    return status.PromotionResult(branch=spec.branch, commit=commit)
                message = commits.commit_message(request, change.digest)
                commit = await workspace.commit(message)
                outcome = await workspace.push(branch=spec.branch)
                if outcome is not git.PushOutcome.REJECTED:
                    log.info(
                        "Pushed promotion commit pipeline=%s/%s environment=%s revision=%s",
                        request.namespace,
                        request.pipeline_name,
                        request.environment,
                        request.revision,
                    )
                    return status.PromotionResult(branch=spec.branch, commit=commit)
                await workspace.reset()  # someone pushed meanwhile: start again from their tip
        raise errors.TemporaryError(
            f'branch "{spec.branch}" kept moving: the push was rejected '
            f"{MAX_PUSH_ATTEMPTS} times as non-fast-forward",
            reason="PushRejected",
        )
