"""What both Git strategies share: the credentials Secret, the commit message and its trailers.

``git-push`` and ``pull-request`` write the same auditable commits (trailers
``Ferryman-Pipeline``/``-Environment``/``-Revision``, one ``Approved-by`` per approval) and read
credentials the same way, so neither strategy imports the other.
"""

from __future__ import annotations

from ferryman.api import pipeline, status
from ferryman.domain import changes, errors, naming
from ferryman.ports import git, promotion


async def credentials(
    secrets: promotion.SecretReader,
    namespace: str,
    secret_ref: pipeline.LocalObjectReference | None,
) -> git.Credentials:
    """The credentials in the referenced Secret; none when no Secret is referenced."""
    if secret_ref is None:
        return git.Credentials()
    data = await secrets.read(namespace, secret_ref.name)
    return git.Credentials.from_secret(data, source=f'Secret "{namespace}/{secret_ref.name}"')


def commit_message(request: promotion.PromotionRequest, change_digest: str = "") -> str:
    """The promotion commit's message, with trailers and one ``Approved-by`` per approval."""
    return naming.commit_message(
        namespace=request.namespace,
        pipeline=request.pipeline_name,
        environment=request.environment,
        revision=request.revision,
        approvals=[(approval.user, approval.comment) for approval in request.approvals],
        change_digest=change_digest,
        value=request.value,
    )


async def checked_change(
    workspace: git.GitWorkspace, request: promotion.PromotionRequest
) -> status.ChangeSummary:
    """The change this promotion makes on ``workspace``, checked against what was approved.

    Raises ``ChangeDiffers`` when an approval was given for another change (someone edited the
    marked manifests since): nothing is committed, and the approvals are void. A change already
    made (nothing left to set: an earlier attempt pushed it) is never refused.
    """
    planned = await workspace.marker_changes(token=request.token, revision=request.value)
    summary = changes.summary(request.token, planned)
    if planned and changes.voided(request.approvals, summary):
        raise errors.ChangeDiffers(
            f"the change to {request.environment} differs from the one approved "
            f"(digest {summary.digest[:12]}…): the manifests were edited since",
            change=summary,
        )
    return summary


async def preview(
    workspaces: git.GitWorkspaces,
    secrets: promotion.SecretReader,
    request: promotion.PromotionRequest,
    *,
    url: str,
    branch: str,
    secret_ref: pipeline.LocalObjectReference | None,
) -> status.ChangeSummary:
    """The change a promotion would make on ``branch`` of ``url`` now (nothing is written)."""
    creds = await credentials(secrets, request.namespace, secret_ref)
    async with workspaces.open(url, branch, creds) as workspace:
        planned = await workspace.marker_changes(token=request.token, revision=request.value)
    return changes.summary(request.token, planned)


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
