"""``ferryman history NAME --from-git``: the whole promotion trail, from the commit trailers.

The Pipeline comes from the Kubernetes API as for every read; its repositories are read with the
git CLI into a temporary directory (removed afterwards), with the credentials of the strategy's
Secret read with your kubeconfig (your RBAC: ``get`` on that Secret) — the same use case as the
web UI's "Older history" page (``server.trail``). 50 promotions a page, newest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click

from ferryman.adapters import githistory
from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import secrets as secrets_adapter
from ferryman.api import pipeline
from ferryman.cli import client, render
from ferryman.domain import errors, trail
from ferryman.ports import promotion
from ferryman.server import trail as trail_service


class _NoSecrets:
    """For pipelines whose repositories need no credentials: never asked."""

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        raise errors.PermanentError(f'secret "{namespace}/{name}" cannot be read here')


@contextlib.asynccontextmanager
async def _secrets(
    item: pipeline.Pipeline, kube: client.KubeOptions
) -> AsyncIterator[promotion.SecretReader]:
    if not any(source.secret for source in trail.sources(item.spec)):
        yield _NoSecrets()
        return
    local = cluster_adapter.LightkubeCluster.connect("", path=kube.kubeconfig, context=kube.context)
    try:
        yield secrets_adapter.LightkubeSecretReader(local.client)
    finally:
        await local.close()


async def read(
    item: pipeline.Pipeline, kube: client.KubeOptions, *, number: int
) -> trail_service.TrailView:
    """One page of ``item``'s trail, read into a temporary directory."""
    scratch = Path(tempfile.mkdtemp(prefix="ferryman-history-"))
    try:
        async with _secrets(item, kube) as reader:
            log = githistory.GitCommitLog(cache_dir=scratch)
            return await trail_service.read(log, reader, item, number=number)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def as_document(view: trail_service.TrailView) -> dict[str, Any]:
    """The page for ``-o json|yaml``."""
    return {
        "page": view.page.number,
        "older": view.page.older,
        "truncated": view.page.truncated,
        "notification": view.notification,
        "problems": list(view.problems),
        "promotions": [
            {
                "at": render.when(entry.at),
                "environment": entry.environment,
                "revision": entry.revision,
                "approvedBy": list(entry.approved_by),
                "changeDigest": entry.change_digest,
                "commit": entry.sha,
                "repository": entry.source.url,
                "branch": entry.source.branch,
            }
            for entry in view.page.entries
        ],
    }


def text(name: str, view: trail_service.TrailView) -> str:
    """The page as a table with a heading line and, where they apply, notes."""
    lines: list[str] = []
    if view.notification:
        return render.join_lines(
            [
                f'Pipeline "{name}" promotes by notification: it sends events and writes no Git '
                "commits, so there is no Git trail (`ferryman history` shows the status history)."
            ]
        )
    where = ", ".join(f"{s.branch} of {s.url}" for s in view.sources)
    lines.append(f"Promotions of {name} from Git ({where}), page {view.page.number}:")
    lines += [f"Error: {problem}" for problem in view.problems]
    body = render.join_lines(lines)
    if view.page.entries:
        rows = [
            [
                render.when(e.at),
                e.environment,
                e.revision,
                ", ".join(e.approved_by) or render.NONE,
                e.sha[:12],
            ]
            for e in view.page.entries
        ]
        body += "\n" + render.table(
            ["WHEN", "ENVIRONMENT", "REVISION", "APPROVED BY", "COMMIT"], rows
        )
    else:
        body += "\n" + render.join_lines(["No promotion commits on this page."])
    notes = []
    if view.page.older:
        notes.append(f"Older promotions: --page {view.page.number + 1}")
    if view.page.truncated:
        notes.append(f"Only the newest {trail.MAX_COMMITS} commits of each branch were read.")
    return body + ("\n" + render.join_lines(notes) if notes else "")


def run(
    item: pipeline.Pipeline, kube: client.KubeOptions, *, number: int
) -> trail_service.TrailView:
    """Read one page; a failure to read everything becomes one sentence."""
    try:
        return asyncio.run(read(item, kube, number=number))
    except errors.PromotionError as exc:
        raise click.ClickException(str(exc)) from exc
