"""What both Git strategies share: the credentials Secret, the commit message and its trailers.

``git-push`` and ``pull-request`` write the same auditable commits (trailers
``Ferryman-Pipeline``/``-Environment``/``-Revision``, one ``Approved-by`` per approval) and read
credentials the same way, so neither strategy imports the other.
"""

from __future__ import annotations

from ferryman.api import pipeline
from ferryman.domain import naming
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


def commit_message(request: promotion.PromotionRequest) -> str:
    """The promotion commit's message, with trailers and one ``Approved-by`` per approval."""
    return naming.commit_message(
        namespace=request.namespace,
        pipeline=request.pipeline_name,
        environment=request.environment,
        revision=request.revision,
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
