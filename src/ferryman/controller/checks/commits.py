"""``commitStatus`` checks: the Git host's statuses of the commit that promoted the revision.

The commit is the promotion record's (``result.commit``: the pushed commit, or the pull
request's head), found by the domain and carried by the action. The host is the check's own
(``type``/``url``/``secretRef``/``serverURL``) or, field by field, the environment's pull-request
strategy's; its token is the Secret's ``token`` (and ``ca.crt`` a private CA), as for pull
requests. Like GitOps Promoter's commit-status gates: the named contexts (every context reported,
when none are named) must all succeed; one failure fails the check; until then it waits, up to
its timeout.
"""

from __future__ import annotations

from collections.abc import Sequence

from ferryman.api import pipeline
from ferryman.api import verification as checks
from ferryman.domain import actions, errors, findings, policy
from ferryman.ports import git, promotion


def provider(
    subject: pipeline.Pipeline, environment: str, spec: checks.CommitStatusCheck
) -> tuple[str, str, str, str | None]:
    """(type, url, Secret name, serverURL) of the host to ask."""
    env = subject.spec.environment(environment)
    strategy = policy.effective(subject.spec, env).strategy if env is not None else None
    pull = strategy.pull_request if strategy is not None else None
    kind = spec.type or (pull.type.value if pull is not None else None)
    url = spec.url or (pull.url if pull is not None else None)
    secret = spec.secret_ref.name if spec.secret_ref else (pull.secret_ref.name if pull else None)
    server = spec.server_url or (pull.server_url if pull is not None else None)
    if kind is None or url is None or secret is None:
        raise errors.PermanentError(
            "the commit check names no Git host (type, url, secretRef) and the environment has "
            "no pull-request strategy to take them from",
            reason="InvalidCheck",
        )
    return kind, url, secret, server


def judge(
    found: Sequence[git.CommitStatus], contexts: Sequence[str], commit: str
) -> findings.Answer:
    """All required contexts succeeded, one failed, or still waiting (with what for)."""
    latest = {status.context: status for status in found}
    wanted = list(contexts) or list(latest)
    if not wanted:
        return findings.Answer(None, f"no status reported for {commit[:12]} yet", count=0)
    for context in wanted:
        status = latest.get(context)
        if status is not None and status.state is git.CommitState.FAILURE:
            why = f": {status.description}" if status.description else ""
            return findings.Answer(False, f"{context} failed{why}", count=len(found))
    passed = [c for c in wanted if c in latest and latest[c].state is git.CommitState.SUCCESS]
    value = f"{len(passed)}/{len(wanted)}"
    if len(passed) == len(wanted):
        return findings.Answer(True, f"{len(wanted)} status(es) succeeded", value, len(found))
    waiting = ", ".join(c for c in wanted if c not in passed)
    return findings.Answer(None, f"waiting for {waiting}", value, len(found))


async def read(
    hosts: git.GitHosts,
    secrets: promotion.SecretReader,
    subject: pipeline.Pipeline,
    action: actions.Check,
    spec: checks.Check,
) -> findings.Answer:
    """Read the commit's statuses from its host and judge them."""
    rule = spec.commit_status
    if rule is None or not action.commit:
        raise errors.PermanentError(f'check "{spec.name}" has no commit to read', reason="NoCommit")
    kind, url, secret, server = provider(subject, action.environment, rule)
    namespace = subject.metadata.namespace
    credentials = git.Credentials.from_secret(
        await secrets.read(namespace, secret), source=f'Secret "{namespace}/{secret}"'
    )
    if not credentials.token:
        raise errors.PermanentError(
            f'secret "{namespace}/{secret}" has no "token" for the {kind} API',
            reason="CredentialsInvalid",
        )
    host = hosts.host(kind, url, token=credentials.token, server_url=server, ca=credentials.ca)
    return judge(await host.commit_statuses(action.commit), rule.contexts, action.commit)
