"""The ``git-push`` strategy: commit the marker change straight to a branch and push it.

Idempotency (DESIGN §4): the markers are patched first; when they already read the revision the
change is on the branch already — an earlier attempt pushed it and crashed before recording, or
someone else made it — so nothing is committed and the result names the commit that made it,
found by its trailers (``Ferryman-Pipeline``/``-Environment``/``-Revision``), else the branch tip.
A push rejected as non-fast-forward (someone pushed meanwhile) is retried a bounded number of
times on a freshly fetched branch, re-applying the markers, never by force.

The helpers at the bottom (credentials, commit message, trailers) are shared with the
pull-request strategy, so both write the same auditable commits.
"""

from __future__ import annotations

import logging
from typing import Final

from ferryman.api import pipeline, status
from ferryman.domain import errors, naming
from ferryman.ports import git, promotion

log = logging.getLogger(__name__)

MAX_PUSH_ATTEMPTS: Final = 3


class GitPushStrategy:
    """Promote by pushing a commit to ``spec.git-push.branch``."""

    name = "git-push"

    def __init__(self, *, workspaces: git.GitWorkspaces, secrets: promotion.SecretReader) -> None:
        self._workspaces = workspaces
        self._secrets = secrets

    async def promote(self, request: promotion.PromotionRequest) -> status.PromotionResult:
        spec = request.strategy.git_push
        if spec is None:
            raise errors.PermanentError("the git-push strategy has no settings in the spec")
        creds = await credentials(self._secrets, request.namespace, spec.secret_ref)
        async with self._workspaces.open(spec.url, spec.branch, creds) as workspace:
            for _ in range(MAX_PUSH_ATTEMPTS):
                changed = await workspace.set_markers(token=request.token, revision=request.value)
                if not changed:
                    existing = await workspace.find_commit(trailers(request))
                    commit = existing or await workspace.head()
                    log.info(
                        "Revision already on branch pipeline=%s/%s environment=%s revision=%s",
                        request.namespace,
                        request.pipeline_name,
                        request.environment,
                        request.revision,
                    )
                    return status.PromotionResult(branch=spec.branch, commit=commit)
                commit = await workspace.commit(commit_message(request))
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


async def credentials(
    secrets: promotion.SecretReader,
    namespace: str,
    secret_ref: pipeline.LocalObjectReference | None,
) -> git.Credentials:
    """The credentials in the referenced Secret; none when no Secret is referenced."""
    if secret_ref is None:
        return git.Credentials()
    return git.Credentials.from_secret(await secrets.read(namespace, secret_ref.name))


def commit_message(request: promotion.PromotionRequest) -> str:
    """The promotion commit's message, with trailers and one ``Approved-by`` per approval."""
    return naming.commit_message(
        namespace=request.namespace,
        pipeline=request.pipeline_name,
        environment=request.environment,
        revision=request.revision,
        value=request.value,
        approvals=[(approval.user, approval.comment) for approval in request.approvals],
    )


def trailers(request: promotion.PromotionRequest) -> dict[str, str]:
    """The trailers that identify this promotion's commit (as ``commit_message`` writes them)."""
    message = commit_message(request)
    wanted = ("Ferryman-Pipeline", "Ferryman-Environment", "Ferryman-Revision")
    found: dict[str, str] = {}
    for line in message.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in wanted:
            found[key] = value
    return found
