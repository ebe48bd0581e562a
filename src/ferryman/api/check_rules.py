"""Rules of ``verification.checks`` the CRD schema cannot express, each with its field path.

``api.validation`` adds these to the other semantic errors, so a Pipeline breaking one is
``Stalled`` with a sentence naming the field. The rules: exactly one kind per check; names unique
in an environment; a Job template shaped like a CronJob's ``jobTemplate`` (Ferryman names the
Job); webhook URLs over HTTPS (plain HTTP to a loopback address only), a call timeout of at most
60s; Prometheus credentials never over plain HTTP off loopback; and a ``commitStatus`` check only
where a promotion commit and a Git host are known.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final
from urllib import parse

from ferryman.api import durations
from ferryman.api import verification as checks

Problem = tuple[str, str]  # (field path, message)

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1"})
MAX_CALL_TIMEOUT_SECONDS: Final = 60
MIN_INTERVAL_SECONDS: Final = 1


def loopback(url: str) -> bool:
    """Whether ``url`` names a loopback address (127.0.0.1 or ::1)."""
    return (parse.urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def secure_url(url: str) -> str:
    """Why ``url`` may not carry a secret ("" when it is https:// or http:// to loopback)."""
    parts = parse.urlsplit(url.strip())
    if parts.username is not None or parts.password is not None:
        return "must not contain credentials; put them in the Secret"
    if not parts.hostname:
        return f'"{url}" is not an absolute URL'
    if parts.scheme == "https" or (parts.scheme == "http" and loopback(url)):
        return ""
    return f'"{url}" must start with https:// (plain http:// only for 127.0.0.1 or ::1)'


def _template(template: dict[str, Any]) -> str:
    """What is wrong with a Job template ("" when it is usable)."""
    metadata = template.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    named = [key for key in ("name", "generateName", "namespace") if key in metadata]
    if named:
        return f"metadata.{named[0]} is set by Ferryman; remove it"
    spec = template.get("spec")
    pod = spec.get("template") if isinstance(spec, dict) else None
    pod_spec = pod.get("spec") if isinstance(pod, dict) else None
    containers = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return "spec.template.spec.containers must list at least one container"
    return ""


def _seconds(text: str | None) -> float:
    return durations.parse(text).total_seconds() if text else 0.0


def _kind_problems(where: str, check: checks.Check) -> Iterator[Problem]:
    if len(check.kinds()) != 1:
        yield where, checks.ONE_KIND_MESSAGE
    if check.job is not None:
        problem = _template(check.job.template)
        if problem:
            yield f"{where}.job.template", problem
    if check.webhook is not None:
        problem = secure_url(check.webhook.url)
        if problem:
            yield f"{where}.webhook.url", problem
        if _seconds(check.webhook.timeout) > MAX_CALL_TIMEOUT_SECONDS:
            yield f"{where}.webhook.timeout", f"must be at most {MAX_CALL_TIMEOUT_SECONDS}s"
    if check.prometheus is not None:
        yield from _prometheus_problems(f"{where}.prometheus", check.prometheus)


def _prometheus_problems(where: str, check: checks.PrometheusCheck) -> Iterator[Problem]:
    parts = parse.urlsplit(check.address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield f"{where}.address", f'"{check.address}" is not an http:// or https:// URL'
    elif check.secret_ref is not None and secure_url(check.address):
        yield (
            f"{where}.secretRef",
            "credentials are sent over https:// only (or to 127.0.0.1 or ::1)",
        )
    if check.interval is not None and _seconds(check.interval) < MIN_INTERVAL_SECONDS:
        yield f"{where}.interval", f"must be at least {MIN_INTERVAL_SECONDS}s"


def _commit_problems(
    where: str, check: checks.CommitStatusCheck, *, first: bool, pull_request: bool
) -> Iterator[Problem]:
    if first:
        yield (
            where,
            "the first environment has no promotion commit to read statuses of; "
            "set its verification.checks without this check",
        )
    elif not pull_request and (check.type is None or check.url is None or not check.secret_ref):
        yield (
            where,
            "type, url and secretRef are required unless the environment is promoted by a "
            "pull-request strategy",
        )


def _names(where: str, found: Sequence[checks.Check]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, check in enumerate(found):
        if check.name in seen:
            yield f"{where}[{index}].name", f'duplicate check name "{check.name}"'
        seen.add(check.name)


def shape(where: str, verification: checks.Verification | None) -> list[Problem]:
    """Every problem of one ``verification`` block at ``where`` (e.g.
    ``spec.environments[1].verification``) that does not depend on the environment."""
    if verification is None:
        return []
    found: list[Problem] = list(_names(f"{where}.checks", verification.checks))
    for index, check in enumerate(verification.checks):
        found.extend(_kind_problems(f"{where}.checks[{index}]", check))
    return found


def commits(
    where: str,
    verification: checks.Verification | None,
    *,
    first: bool,
    pull_request: bool,
    environment: str = "",
) -> list[Problem]:
    """The ``commitStatus`` checks of ``verification`` that cannot work in an environment that
    is (or is not) the first and is (or is not) promoted by a pull request; ``environment``
    names it when the block is the pipeline-wide default."""
    if verification is None:
        return []
    suffix = f' (environment "{environment}")' if environment else ""
    found: list[Problem] = []
    for index, check in enumerate(verification.checks):
        if check.commit_status is not None:
            found.extend(
                (path, message + suffix)
                for path, message in _commit_problems(
                    f"{where}.checks[{index}].commitStatus",
                    check.commit_status,
                    first=first,
                    pull_request=pull_request,
                )
            )
    return found
