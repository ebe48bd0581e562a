"""The full promotion trail of one Pipeline, read from its Git repositories (the UI's "Older
history" page and ``ferryman history --from-git``).

For every branch promotions land on (``domain.trail.sources``) the newest ``MAX_COMMITS``
commits are read through ``ports.history.CommitLog`` with the credentials of the strategy's
Secret (read through ``ports.promotion.SecretReader``, as the strategies read it); commits whose
trailers name the pipeline are its trail, and one page of it is returned. A repository that
cannot be read is named in ``problems`` (its message is already scrubbed of credentials); the
others still count. A pipeline that only sends notifications has no Git trail, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ferryman.api import pipeline
from ferryman.domain import errors, trail
from ferryman.ports import git, history, promotion


@dataclass(frozen=True)
class TrailView:
    """What was found: one page, where it was looked for, and what could not be read."""

    page: trail.Page
    sources: tuple[trail.Source, ...]
    notification: bool  # every promotion is a notification: nothing is committed
    problems: tuple[str, ...] = ()


async def _credentials(
    secrets: promotion.SecretReader, namespace: str, source: trail.Source
) -> git.Credentials:
    if source.secret is None:
        return git.Credentials()
    data = await secrets.read(namespace, source.secret)
    return git.Credentials.from_secret(data, source=f'Secret "{namespace}/{source.secret}"')


async def read(
    log: history.CommitLog,
    secrets: promotion.SecretReader,
    item: pipeline.Pipeline,
    *,
    number: int = 1,
    per_page: int = trail.PAGE_SIZE,
    keep: Callable[[trail.Entry], bool] | None = None,
) -> TrailView:
    """Page ``number`` of ``item``'s promotions found in Git, newest first (only those ``keep``
    accepts: a filter applies before paging, so every page is full)."""
    namespace, name = item.metadata.namespace, item.metadata.name
    found: list[trail.Entry] = []
    problems: list[str] = []
    truncated = False
    where = trail.sources(item.spec)
    for source in where:
        try:
            credentials = await _credentials(secrets, namespace, source)
            commits, complete = await log.recent(
                source.url, source.branch, credentials, limit=trail.MAX_COMMITS
            )
        except errors.PromotionError as exc:
            problems.append(f"{source.url} ({source.branch}): {exc}")
            continue
        truncated = truncated or not complete
        key = f"{namespace}/{name}"
        found += [
            entry
            for commit in commits
            if (entry := trail.entry(commit, pipeline_key=key, source=source)) is not None
            and (keep is None or keep(entry))
        ]
    return TrailView(
        page=trail.page(found, number, per_page=per_page, truncated=truncated),
        sources=where,
        notification=trail.notifies_only(item.spec),
        problems=tuple(problems),
    )
