"""The check kinds' request builders and answer judges (``controller/checks``), without I/O.

What a Job looks like and how its conditions are read (batch/v1 ``JobCondition`` as the vendored
Kubernetes 1.32 OpenAPI documents it: ``Complete``/``Failed``, and ``SuccessCriteriaMet``/
``FailureTarget`` first in 1.31+), how commit statuses are judged, what a webhook payload holds
and how an answer reads, and how the verifier reports missing ports and removed checks.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.fakes import verification as check_fakes
from tests.unit.domain import builders as b

from ferryman.api import pipeline
from ferryman.api import verification as checks_api
from ferryman.controller import checks
from ferryman.controller.checks import commits, jobs, prometheus, webhooks
from ferryman.domain import actions, errors, findings, naming, signatures, verification
from ferryman.ports import git
from ferryman.ports import kubernetes as k8s
from ferryman.ports import webhooks as webhook_port

ACTION = actions.Check("staging", "6.2.0", 1, "smoke-test", "job", actions.START)
SUBJECT = b.make(
    "dev",
    b.environment("staging", targets=2, verify=[b.job()]),
    b.environment("prod", cluster="eu-1"),
    promotion=b.notified(),
)


def condition(kind: str, status: str = "True", **fields: str) -> dict[str, Any]:
    return {"type": kind, "status": status, **fields}


def job_with(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"status": {"conditions": list(conditions)}}


# ---------------------------------------------------------------- jobs


def test_job_names_are_deterministic_valid_and_distinct_per_run() -> None:
    """Same inputs, same name (adoption); another run or revision, another name; <= 63 chars."""
    first = jobs.name(SUBJECT, ACTION)
    assert first == jobs.name(SUBJECT, ACTION)
    assert first.startswith("podinfo-staging-smoke-test-") and len(first) <= 63
    assert (
        jobs.name(SUBJECT, actions.Check("staging", "6.2.0", 2, "smoke-test", "job", "start"))
        != first
    )
    long = naming.job_name(
        pipeline="P" * 80, environment="Env_1", check="c", key="0123456789abcdef"
    )
    assert len(long) == 63 and long.endswith("-0123456789") and long == long.lower()
    bare = naming.job_name(pipeline="__", environment="", check="", key="ab" * 8)
    assert bare == "check-ababababab"


def test_job_manifest_carries_ferrymans_name_labels_retention_and_deadline() -> None:
    """The template's spec and labels stay; name, namespace, TTL and a deadline are set."""
    spec = checks_api.JobCheck.model_validate(
        {
            "template": {
                "metadata": {"labels": {"team": "shop"}, "annotations": {"a": "b"}},
                "spec": {**b.JOB_TEMPLATE["spec"]},
            },
            "retention": "10m",
            "timeout": "5m",
        }
    )
    made = jobs.manifest(SUBJECT, ACTION, spec, "staging-1")
    assert made["metadata"]["name"] == jobs.name(SUBJECT, ACTION)
    assert made["metadata"]["namespace"] == "staging-1"
    assert made["metadata"]["labels"]["team"] == "shop"
    assert made["metadata"]["labels"]["pipelines.weave.works/check"] == "smoke-test"
    assert made["metadata"]["annotations"]["pipelines.weave.works/revision"] == "6.2.0"
    assert made["metadata"]["annotations"]["a"] == "b"
    assert (made["spec"]["ttlSecondsAfterFinished"], made["spec"]["activeDeadlineSeconds"]) == (
        600,
        300,
    )
    assert made["spec"]["template"] == b.JOB_TEMPLATE["spec"]["template"]
    own = checks_api.JobCheck.model_validate(
        {"template": {"spec": {**b.JOB_TEMPLATE["spec"], "activeDeadlineSeconds": 42}}}
    )
    kept = jobs.manifest(SUBJECT, ACTION, own, "staging")
    assert (kept["spec"]["activeDeadlineSeconds"], kept["spec"]["ttlSecondsAfterFinished"]) == (
        42,
        3600,
    )


def test_jobs_run_in_every_target_namespace_once_and_on_remote_clusters() -> None:
    """Two staging targets: two places; prod's cluster is the GitopsCluster in the pipeline's
    namespace."""
    assert jobs.places(SUBJECT, "staging") == [
        k8s.JobPlace("staging"),
        k8s.JobPlace("staging-1"),
    ]
    [remote] = jobs.places(SUBJECT, "prod")
    assert remote == k8s.JobPlace("prod", ("flux-system", "eu-1"))
    assert jobs.where(remote) == "eu-1/prod"
    assert jobs.places(SUBJECT, "qa") == []


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (job_with(), (None, "running")),
        (job_with(condition("Complete")), (True, "succeeded")),
        (job_with(condition("SuccessCriteriaMet")), (True, "succeeded")),
        (job_with(condition("Complete", "False")), (None, "running")),
        (
            job_with(condition("FailureTarget", reason="PodFailurePolicy", message="exit 3")),
            (False, "PodFailurePolicy: exit 3"),
        ),
        (job_with(condition("Failed", reason="DeadlineExceeded")), (False, "DeadlineExceeded")),
        (job_with(condition("Failed")), (False, "Failed")),
        ({}, (None, "running")),
    ],
)
def test_job_outcome(job: dict[str, Any], expected: tuple[bool | None, str]) -> None:
    """A Job passed, failed (with why) or runs, from its conditions."""
    assert jobs.outcome(job) == expected


def test_jobs_are_judged_together() -> None:
    """All passed: passed; one failed or gone: failed with where; else how many finished."""
    a, b_ = k8s.JobPlace("staging"), k8s.JobPlace("staging-1")
    done, running = job_with(condition("Complete")), job_with()
    waiting = jobs.judge("j", [(a, done), (b_, running)])
    assert (waiting.passed, waiting.value, waiting.message) == (None, "1/2", "1 of 2 Jobs finished")
    assert jobs.judge("j", [(a, done), (b_, done)]).passed is True
    gone = jobs.judge("j", [(a, done), (b_, None)])
    assert (gone.passed, gone.message) == (
        False,
        "staging-1: the Job was deleted before it finished",
    )
    failed = jobs.judge("j", [(a, job_with(condition("Failed", reason="BackoffLimitExceeded")))])
    assert (failed.passed, failed.message) == (False, "staging: BackoffLimitExceeded")


async def test_job_start_adopts_what_an_earlier_attempt_made() -> None:
    """Starting twice creates each namespace's Job once and says what it found."""
    runner = check_fakes.FakeJobs()
    spec = checks_api.JobCheck.model_validate({"template": b.JOB_TEMPLATE})
    first = await jobs.step(runner, SUBJECT, ACTION, spec)
    again = await jobs.step(runner, SUBJECT, ACTION, spec)
    assert isinstance(first, findings.Started) and isinstance(again, findings.Started)
    assert len(runner.created) == 2 and first.count == again.count == 2
    assert again.message.endswith("(2 found from an earlier attempt)")
    read = actions.Check("staging", "6.2.0", 1, "smoke-test", "job", actions.OBSERVE)
    assert (await jobs.step(runner, SUBJECT, read, spec)) == findings.Answer(
        None, "0 of 2 Jobs finished", "0/2"
    )


# ---------------------------------------------------------------- commit statuses


def status(context: str, state: git.CommitState, description: str = "") -> git.CommitStatus:
    return git.CommitStatus(context, state, description)


OK, NO, WAIT = git.CommitState.SUCCESS, git.CommitState.FAILURE, git.CommitState.PENDING


def test_commit_statuses_are_judged() -> None:
    """Every context (or the named ones) must succeed; one failure fails; else wait."""
    nothing = commits.judge([], (), "0123456789abcdef")
    assert (nothing.passed, nothing.message) == (None, "no status reported for 0123456789ab yet")
    found = [status("ci/build", OK), status("ci/e2e", WAIT), status("lint", NO, "2 problems")]
    assert commits.judge(found, (), "c").message == "lint failed: 2 problems"
    chosen = commits.judge(found, ("ci/build", "ci/e2e"), "c")
    assert (chosen.passed, chosen.message, chosen.value, chosen.count) == (
        None,
        "waiting for ci/e2e",
        "1/2",
        3,
    )
    missing = commits.judge(found, ("ci/build", "deploy"), "c")
    assert missing.message == "waiting for deploy"
    passed = commits.judge([status("ci/build", OK)], ("ci/build",), "c")
    assert (passed.passed, passed.message) == (True, "1 status(es) succeeded")
    bare = commits.judge([status("x", NO)], (), "c")
    assert bare.message == "x failed"


def test_the_commit_host_comes_from_the_check_or_the_pull_request_strategy() -> None:
    """Own fields win field by field; without them the pull-request strategy supplies them;
    with neither the check cannot run."""
    prs = b.make(promotion=b.promotion(via="pull-request"))
    rule = checks_api.CommitStatusCheck()
    assert commits.provider(prs, "staging", rule) == (
        "github",
        "https://github.com/org/fleet",
        "github",
        None,
    )
    own = checks_api.CommitStatusCheck.model_validate(
        {
            "type": "gitea",
            "url": "https://g/o/r",
            "secretRef": {"name": "g"},
            "serverURL": "https://g",
        }
    )
    assert commits.provider(b.make(promotion=b.notified()), "staging", own) == (
        "gitea",
        "https://g/o/r",
        "g",
        "https://g",
    )
    with pytest.raises(errors.PermanentError, match="names no Git host"):
        commits.provider(b.make(promotion=b.notified()), "staging", rule)
    with pytest.raises(errors.PermanentError, match="names no Git host"):
        commits.provider(prs, "qa", rule)


# ---------------------------------------------------------------- webhooks


def test_the_webhook_payload_names_everything_and_is_signed() -> None:
    """Pipeline, environment, revision, check, run, targets and the delivery key; the signature
    verifies with the Secret's key; the key is the same for every call of a run."""
    hook = checks_api.WebhookCheck.model_validate(
        {"url": "https://h/v", "secretRef": {"name": "s"}, "timeout": "3s"}
    )
    action = actions.Check("staging", "6.2.0", 2, "smoke", "webhook", actions.START)
    call = webhooks.request(SUBJECT, action, hook, b"k3y")
    body = json.loads(call.body)
    assert body == {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "VerificationRequest",
        "pipeline": {"namespace": "default", "name": "podinfo", "uid": "uid-1"},
        "environment": "staging",
        "revision": "6.2.0",
        "check": "smoke",
        "run": 2,
        "targets": [{"namespace": "staging"}, {"namespace": "staging-1"}],
        "key": webhooks.delivery_key(SUBJECT, action),
    }
    assert signatures.verify(b"k3y", call.body, call.headers["X-Signature"])
    assert call.headers["X-Ferryman-Delivery"] == body["key"]
    assert call.timeout == 3.0
    remote = webhooks.payload(SUBJECT, actions.Check("prod", "1", 1, "smoke", "webhook", "start"))
    assert remote["targets"] == [{"namespace": "prod", "cluster": "eu-1"}]
    assert (
        webhooks.payload(SUBJECT, actions.Check("qa", "1", 1, "s", "webhook", "start"))["targets"]
        == []
    )


@pytest.mark.parametrize(
    ("answer", "passed", "message"),
    [
        (webhook_port.WebhookAnswer(204), True, "answered 204"),
        (webhook_port.WebhookAnswer(200, "all good\n"), True, "answered 200: all good"),
        (
            webhook_port.WebhookAnswer(422, '{"message": "checkout broken", "code": 7}'),
            False,
            "answered 422: checkout broken",
        ),
        (
            webhook_port.WebhookAnswer(302, ""),
            False,
            "answered 302 (redirects are not followed)",
        ),
        (
            webhook_port.WebhookAnswer(400, "x" * 200),
            False,
            "answered 400: " + "x" * 79 + "…",
        ),
        (webhook_port.WebhookAnswer(403, "[1, 2]"), False, "answered 403: [1, 2]"),
    ],
)
def test_webhook_answers(answer: webhook_port.WebhookAnswer, passed: bool, message: str) -> None:
    """2xx passes, 3xx and 4xx fail with the start of the body (a JSON message preferred)."""
    judged = webhooks.judge(answer)
    assert (judged.passed, judged.message) == (passed, message)


def test_a_5xx_answer_is_retried() -> None:
    """5xx is a temporary error the domain retries with backoff."""
    with pytest.raises(errors.TemporaryError, match="answered 503: busy"):
        webhooks.judge(webhook_port.WebhookAnswer(503, "busy"))


async def test_a_webhook_secret_without_its_key_fails_the_check() -> None:
    """A Secret without hmac-key is a permanent error naming the Secret (never a value)."""
    hook = checks_api.WebhookCheck.model_validate(
        {"url": "https://h/v", "secretRef": {"name": "s"}}
    )
    secrets = check_fakes.FakeSecrets({"s": {"other": b"x"}})
    action = actions.Check("staging", "6.2.0", 1, "smoke", "webhook", actions.START)
    with pytest.raises(errors.PermanentError, match='"default/s" has no "hmac-key"'):
        await webhooks.call(check_fakes.FakeWebhooks(), secrets, SUBJECT, action, hook)


# ---------------------------------------------------------------- prometheus and the verifier


async def test_prometheus_credentials_come_from_the_secret() -> None:
    """token, username/password and ca.crt are read; other keys ignored; no Secret, none."""
    source = check_fakes.FakeMetrics([0.5])
    secrets = check_fakes.FakeSecrets({"p": {"token": b"t0k\n", "ca.crt": b"PEM", "x": b"y"}})
    rule = checks_api.PrometheusCheck.model_validate(
        {"address": "https://p", "query": "up", "threshold": "> 0", "secretRef": {"name": "p"}}
    )
    assert await prometheus.measure(source, secrets, SUBJECT, rule) == findings.Sample(0.5)
    sent = source.queries[0].credentials
    assert (sent.token, sent.ca, sent.username) == ("t0k", "PEM", None)
    assert "t0k" not in repr(sent)
    plain = rule.model_copy(update={"secret_ref": None})
    await prometheus.measure(source, secrets, SUBJECT, plain)
    assert source.queries[1].credentials.token is None


async def test_the_verifier_reports_what_it_cannot_do() -> None:
    """A removed check, a kind without a port, a step that hangs: errors as values."""
    subject = b.make(
        "dev",
        b.environment(
            "staging",
            verify=[
                b.webhook(),
                b.prometheus(),
                b.commit_checks(
                    type="github", url="https://github.com/o/r", secretRef={"name": "g"}
                ),
            ],
        ),
        promotion=b.notified(),
    )
    bare = checks.Verifier(checks.Ports(secrets=check_fakes.FakeSecrets()))
    gone = await bare.run(subject, actions.Check("staging", "1", 1, "gone", "job", "start"))
    assert isinstance(gone, errors.PermanentError) and "no longer in the spec" in str(gone)
    for name, what in (("smoke", "webhook"), ("error-rate", "Prometheus"), ("ci", "commit status")):
        found = await bare.run(subject, actions.Check("staging", "1", 1, name, "x", "observe"))
        assert isinstance(found, errors.PermanentError)
        assert (
            str(found)
            == f"this controller cannot run {what} checks (no client for them was set up)"
        )

    class Hanging:
        async def query(self, request: Any) -> float:
            await asyncio.sleep(10)
            return 0.0

    slow = checks.Verifier(
        checks.Ports(secrets=check_fakes.FakeSecrets(), metrics=Hanging()), timeout=0.01
    )
    late = await slow.run(subject, actions.Check("staging", "1", 1, "error-rate", "x", "observe"))
    assert isinstance(late, errors.TemporaryError) and "did not finish within 0.01s" in str(late)
    nokind = b.make(
        "dev", b.environment("staging", verify=[checks_api.Check(name="x")]), promotion=b.notified()
    )
    empty = await bare.run(nokind, actions.Check("staging", "1", 1, "x", "x", "observe"))
    assert isinstance(empty, errors.PermanentError) and "has no kind" in str(empty)


async def test_a_commit_check_reads_the_host_with_the_secrets_token() -> None:
    """The host is built from the check (or strategy) and the Secret's token; no token or no
    commit is a permanent error."""

    class Host:
        async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
            return [status("ci", OK)] if commit == "abc" else []

    class Hosts:
        def __init__(self) -> None:
            self.built: list[tuple[str, str, str, str | None]] = []

        def host(
            self,
            kind: str,
            url: str,
            *,
            token: str,
            server_url: str | None = None,
            ca: str | None = None,
        ) -> Any:
            self.built.append((kind, url, token, ca))
            return Host()

    subject = b.make(promotion=b.promotion(via="pull-request"))
    spec = b.commit_checks()
    hosts = Hosts()
    secrets = check_fakes.FakeSecrets({"github": {"token": b"gh-t", "ca.crt": b"CA"}})
    action = actions.Check("staging", "1", 1, "ci", "commitStatus", "observe", "abc")
    answer = await commits.read(hosts, secrets, subject, action, spec)
    assert answer.passed is True
    assert hosts.built == [("github", "https://github.com/org/fleet", "gh-t", "CA")]
    no_token = check_fakes.FakeSecrets({"github": {"username": b"u"}})
    with pytest.raises(errors.PermanentError, match='has no "token" for the github API'):
        await commits.read(hosts, no_token, subject, action, spec)
    bare = actions.Check("staging", "1", 1, "ci", "commitStatus", "observe")
    with pytest.raises(errors.PermanentError, match="has no commit to read"):
        await commits.read(hosts, secrets, subject, bare, spec)


def test_check_names_resolve_against_the_spec() -> None:
    """check_named finds a check by environment and name, or nothing."""
    spec: pipeline.PipelineSpec = SUBJECT.spec
    assert verification.check_named(spec, "staging", "smoke-test") == b.job()
    assert verification.check_named(spec, "staging", "other") is None
    assert verification.check_named(spec, "qa", "smoke-test") is None
