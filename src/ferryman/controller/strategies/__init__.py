"""Promotion strategies and the registry the composition root builds them from.

A Pipeline environment's ``promotion.strategy`` names one of ``pull-request``, ``git-push`` or
``notification``; the reconciler looks the strategy up by that wire name in the mapping
``build_all`` returns. Strategies depend on ports only (``ports.git``, ``ports.promotion``,
``ports.kubernetes``); ``bootstrap`` passes the adapters in::

    strategies = build_all(
        workspaces=gitrepo.GitRepositories(cache_dir=settings.git_cache_dir),
        hosts=githost.Hosts(httpx.AsyncClient()),
        secrets=secret_reader,
        events=event_sink,
        receiver=flux_receiver,  # optional: notification also posts to Flux (--events-addr)
    )
    reconciler = Reconciler(..., strategies=strategies)

A strategy whose ports are not given is left out of ``build_all``'s mapping (the reconciler
then reports it as not available), and ``build`` refuses to make it.
"""

from __future__ import annotations

from typing import Final

from ferryman.controller.strategies import git_push, notification, pull_request
from ferryman.ports import git, promotion
from ferryman.ports import kubernetes as k8s

NAMES: Final = (
    pull_request.PullRequestStrategy.name,
    git_push.GitPushStrategy.name,
    notification.NotificationStrategy.name,
)


def build(
    name: str,
    *,
    workspaces: git.GitWorkspaces | None = None,
    hosts: git.GitHosts | None = None,
    secrets: promotion.SecretReader | None = None,
    events: k8s.EventSink | None = None,
    receiver: promotion.EventReceiver | None = None,
) -> promotion.PromotionStrategy:
    """The strategy called ``name``, given the ports it needs.

    Raises ``ValueError`` for an unknown name or a missing port (a wiring bug, not a user error).
    """
    if name == pull_request.PullRequestStrategy.name:
        if workspaces is None or hosts is None or secrets is None:
            raise ValueError("pull-request needs workspaces, hosts and secrets")
        return pull_request.PullRequestStrategy(workspaces=workspaces, hosts=hosts, secrets=secrets)
    if name == git_push.GitPushStrategy.name:
        if workspaces is None or secrets is None:
            raise ValueError("git-push needs workspaces and secrets")
        return git_push.GitPushStrategy(workspaces=workspaces, secrets=secrets)
    if name == notification.NotificationStrategy.name:
        if events is None:
            raise ValueError("notification needs events")
        return notification.NotificationStrategy(events, receiver)
    raise ValueError(f'unknown promotion strategy "{name}" (known: {", ".join(NAMES)})')


def build_all(
    *,
    workspaces: git.GitWorkspaces | None = None,
    hosts: git.GitHosts | None = None,
    secrets: promotion.SecretReader | None = None,
    events: k8s.EventSink | None = None,
    receiver: promotion.EventReceiver | None = None,
) -> dict[str, promotion.PromotionStrategy]:
    """Every strategy whose ports are given, keyed by its wire name."""
    built: dict[str, promotion.PromotionStrategy] = {}
    for name in NAMES:
        try:
            built[name] = build(
                name,
                workspaces=workspaces,
                hosts=hosts,
                secrets=secrets,
                events=events,
                receiver=receiver,
            )
        except ValueError:
            continue  # a port this strategy needs was not wired
    return built
