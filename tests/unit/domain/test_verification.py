"""An environment's verification: which checks apply, how they start, step, time out and are
judged, what ``ferryman verify`` does, and how a step's finding changes a check.

The scenario table (``test_decisions.py``, rows under ``Verifying`` and ``VerificationFailed``)
shows what verification means for promotions; these tests pin the details of
``domain.verification``, ``domain.findings`` and ``domain.thresholds``.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import actions, errors, findings, holds, thresholds, verification

SMOKE = b.webhook()
ERRORS = b.prometheus(count=3, interval="1m", failureLimit=1)
JOB = b.job(timeout="10m")


def ready(
    revision: str = "1.1", check: checks.VerificationStatus | None = None
) -> status.EnvironmentStatus:
    return status.EnvironmentStatus(
        revision=revision, ready=True, ready_since=b.ago(hours=1), verification=check
    )


def spec_with(
    *found: checks.Check, default: tuple[checks.Check, ...] | None = None
) -> pipeline.PipelineSpec:
    subject = b.make(
        "dev",
        b.environment("staging", verify=found),
        "prod",
        promotion=b.notified(),
        verify=default,
    )
    return subject.spec


def advance_staging(
    found: tuple[checks.Check, ...],
    env: status.EnvironmentStatus,
    *,
    now_: timedelta = timedelta(0),
) -> verification.Advance:
    spec = spec_with(*found)
    current = status.PipelineStatus(environments={"staging": env})
    return verification.advance(spec, current, b.NOW + now_)


def staging(result: verification.Advance) -> checks.VerificationStatus | None:
    return result.status.environments["staging"].verification


# ---------------------------------------------------------------- which checks


def test_an_environment_block_replaces_the_pipeline_default() -> None:
    """Own checks win; ``checks: []`` turns verification off; without a block the default
    applies; with neither there are none."""
    spec = b.make(
        b.environment("dev", verify=[]),
        b.environment("staging", verify=[SMOKE]),
        "prod",
        verify=[JOB],
    ).spec
    assert [verification.checks_for(spec, env) for env in spec.environments] == [
        (),
        (SMOKE,),
        (JOB,),
    ]
    plain = b.make().spec
    assert verification.checks_for(plain, plain.environments[0]) == ()


def test_phase_of_checks() -> None:
    """Failed as soon as one failed, Passed once all passed, Running otherwise (and when empty)."""
    running, passed, failed = (b.check("a"), b.check("b", "Passed"), b.check("c", "Failed"))
    assert verification.phase_of([]) is checks.CheckPhase.RUNNING
    assert verification.phase_of([running, passed]) is checks.CheckPhase.RUNNING
    assert verification.phase_of([passed, passed]) is checks.CheckPhase.PASSED
    assert verification.phase_of([running, failed]) is checks.CheckPhase.FAILED


# ---------------------------------------------------------------- advance


def test_checks_removed_from_the_spec_drop_the_verification() -> None:
    """Without checks an environment keeps no verification (nor emits anything)."""
    old = b.verified("1.1", "Passed", b.check("smoke", "Passed"))
    result = advance_staging((), ready(check=old))
    assert staging(result) is None
    assert result.actions == ()


def test_nothing_starts_before_the_environment_is_ready() -> None:
    """An environment not running one revision ready everywhere starts no verification."""
    result = advance_staging((SMOKE,), status.EnvironmentStatus(revision="1.1", ready=False))
    assert staging(result) is None and result.actions == ()


def test_a_check_added_to_the_spec_starts_and_one_removed_is_dropped() -> None:
    """The verification follows the spec's checks by name, in spec order."""
    old = b.verified("1.1", "Passed", b.check("gone", "Passed"), b.check("smoke", "Passed"))
    result = advance_staging((SMOKE, ERRORS), ready(check=old))
    found = staging(result)
    assert found is not None
    assert [(c.name, c.phase.value) for c in found.checks] == [
        ("smoke", "Passed"),
        ("error-rate", "Running"),
    ]
    assert found.phase is checks.CheckPhase.RUNNING
    assert [b.describe(a) for a in result.actions] == [
        "Check staging 1.1#1 error-rate prometheus observe"
    ]


def test_a_rerun_starts_every_check_again() -> None:
    """``ferryman verify`` leaves a run without checks: the next pass starts them all."""
    rerun = checks.VerificationStatus(revision="1.1", run=2, phase=checks.CheckPhase.RUNNING)
    result = advance_staging((SMOKE, JOB), ready(check=rerun))
    assert [b.describe(a) for a in result.actions] == [
        "Check staging 1.1#2 smoke webhook start",
        "Check staging 1.1#2 smoke-test job start",
    ]
    found = staging(result)
    assert found is not None and found.check("smoke-test") is not None
    assert found.check("smoke-test").count == 0  # type: ignore[union-attr]
    assert found.check("smoke-test").next_at == b.later(minutes=2)  # type: ignore[union-attr]


def test_a_check_without_a_kind_is_never_acted_on() -> None:
    """An invalid spec (no kind) is Stalled by validation; verification leaves it alone."""
    invalid = checks.Check(name="nothing")
    result = advance_staging((invalid,), ready())
    assert result.actions == ()
    found = staging(result)
    assert found is not None and found.checks[0].phase is checks.CheckPhase.RUNNING


def test_a_commit_check_times_out() -> None:
    """Commit statuses that never settle fail the check at its timeout."""
    commit = b.commit_checks(timeout="1h")
    current = b.verified("1.1", "Running", b.check("ci", startedAt=b.ago(hours=1), count=4))
    result = advance_staging((commit,), ready(check=current))
    found = staging(result)
    assert found is not None
    assert (found.phase.value, found.checks[0].message) == ("Failed", "did not finish within 1h")
    assert [b.describe(a) for a in result.actions] == [
        "Notify staging VerificationFailed 1.1 (warning)"
    ]


def test_a_running_check_wakes_the_controller_at_its_deadline() -> None:
    """A Job check waiting for its next read still wakes at its timeout."""
    current = b.verified(
        "1.1", "Running", b.check("smoke-test", count=1, nextAt=b.later(minutes=1), startedAt=b.NOW)
    )
    result = advance_staging((JOB,), ready(check=current))
    assert sorted(result.wake) == [b.later(minutes=1), b.later(minutes=10)]


@pytest.mark.parametrize(
    ("record", "commit"),
    [
        (None, ""),
        (b.record("1.0", status.PromotionPhase.SUCCEEDED), ""),
        (b.record("1.1", status.PromotionPhase.SUCCEEDED), ""),
        (
            b.record(
                "1.1", status.PromotionPhase.SUCCEEDED, result=status.PromotionResult(key="k")
            ),
            "",
        ),
        (
            b.record(
                "1.1", status.PromotionPhase.SUCCEEDED, result=status.PromotionResult(commit="c0")
            ),
            "c0",
        ),
    ],
)
def test_promotion_commit(record: status.PromotionRecord | None, commit: str) -> None:
    """Only a record of this revision with a commit in its result names the commit."""
    env = status.EnvironmentStatus(promotion=record)
    assert verification.promotion_commit(env, "1.1") == commit


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (600, "10m"), (3600, "1h"), (5430, "1h30m30s"), (7200, "2h")],
)
def test_durations_text(seconds: int, text: str) -> None:
    """Durations read as a spec writes them."""
    assert verification.durations_text(timedelta(seconds=seconds)) == text


# ---------------------------------------------------------------- verdict and announcement


def test_verdicts() -> None:
    """No checks: passed. Not started, running, failed (with or without a message), passed."""
    env = ready()
    assert verification.verdict((), "staging", env, "1.1").passed
    waiting = verification.verdict((SMOKE,), "staging", env, "1.1")
    assert (waiting.passed, waiting.failed) == (False, False)
    assert waiting.message == "staging has not started its checks of 1.1"
    other = ready(check=b.verified("1.0", "Passed", b.check("smoke", "Passed")))
    assert not verification.verdict((SMOKE,), "staging", other, "1.1").passed
    passed = ready(check=b.verified("1.1", "Passed", b.check("smoke", "Passed")))
    assert verification.verdict((SMOKE,), "staging", passed, "1.1").passed
    silent = ready(check=b.verified("1.1", "Failed", b.check("smoke", "Failed")))
    failed = verification.verdict((SMOKE,), "staging", silent, "1.1")
    assert (failed.failed, failed.message) == (True, "1.1 failed smoke in staging")


def test_announcements() -> None:
    """An Event when a verification passes or fails, none while running or unchanged."""
    running = b.verified("1.1", "Running", b.check("smoke"))
    passed = b.verified("1.1", "Passed", b.check("smoke", "Passed"))
    failed = b.verified("1.1", "Failed", b.check("smoke", "Failed"))
    assert verification.announcement("staging", None, None) is None
    assert verification.announcement("staging", None, running) is None
    assert verification.announcement("staging", passed, passed) is None
    notice = verification.announcement("staging", running, passed)
    assert notice == actions.Notify(
        "staging", "1.1", "Verified", "staging verified 1.1: 1 check(s) passed"
    )
    failing = verification.announcement("staging", running, failed)
    assert failing is not None and failing.message == "1.1 failed verification in staging: smoke"
    assert failing.warning


# ---------------------------------------------------------------- ferryman verify


def rerun(env: status.EnvironmentStatus, *found: checks.Check) -> status.PipelineStatus:
    current = status.PipelineStatus(environments={"staging": env})
    return verification.rerun(
        current, spec_with(*found), "staging", user="alice", comment="flaky", now=b.NOW
    )


def test_verify_starts_the_next_run_and_records_who_asked() -> None:
    """After a decided run, ``verify`` starts run n+1 of the same revision, in history."""
    done = ready(check=b.verified("1.1", "Failed", b.check("smoke", "Failed"), run=2))
    after = rerun(done, SMOKE)
    found = after.environments["staging"].verification
    assert found is not None and (found.revision, found.run, found.checks) == ("1.1", 3, ())
    entry = after.history[0]
    assert (entry.action, entry.by, entry.comment, entry.revision) == (
        status.HistoryAction.VERIFY_REQUESTED,
        "alice",
        "flaky",
        "1.1",
    )


def test_verify_of_a_revision_never_verified_is_run_one() -> None:
    """A verification of another revision does not count: the run starts at 1."""
    other = ready(check=b.verified("1.0", "Passed", b.check("smoke", "Passed"), run=4))
    found = rerun(other, SMOKE).environments["staging"].verification
    assert found is not None and (found.revision, found.run) == ("1.1", 1)
    fresh = rerun(ready(), SMOKE).environments["staging"].verification
    assert fresh is not None and fresh.run == 1


@pytest.mark.parametrize(
    ("env", "found", "refusal"),
    [
        (ready(), (), holds.Refusal.NOT_VERIFIABLE),
        (status.EnvironmentStatus(revision="1.1"), (SMOKE,), holds.Refusal.NOT_VERIFIABLE),
        (
            ready(check=b.verified("1.1", "Running", b.check("smoke"))),
            (SMOKE,),
            holds.Refusal.VERIFYING,
        ),
    ],
    ids=["no checks", "not ready", "still running"],
)
def test_verify_refusals(
    env: status.EnvironmentStatus, found: tuple[checks.Check, ...], refusal: holds.Refusal
) -> None:
    """Nothing to verify, nothing ready, or an undecided run: refused with a reason."""
    with pytest.raises(holds.OperatorRefused) as refused:
        rerun(env, *found)
    assert refused.value.refusal is refusal


def test_verify_of_an_unknown_environment_is_refused() -> None:
    """An environment the spec does not have is refused as unknown."""
    with pytest.raises(holds.OperatorRefused) as refused:
        verification.rerun(
            status.PipelineStatus(), spec_with(SMOKE), "qa", user="a", comment="", now=b.NOW
        )
    assert refused.value.refusal is holds.Refusal.UNKNOWN_ENVIRONMENT


# ---------------------------------------------------------------- findings


def recorded(
    spec: checks.Check,
    check: checks.CheckStatus,
    finding: findings.Finding,
    *,
    revision: str = "1.1",
    run: int = 1,
) -> checks.CheckStatus:
    current = b.verifying(None, "staging", b.verified("1.1", check.phase.value, check))
    kind = spec.kind.value if spec.kind is not None else ""
    action = actions.Check("staging", revision, run, spec.name, kind, actions.OBSERVE)
    after = findings.record(current, action=action, spec=spec, finding=finding, now=b.NOW)
    found = after.environments["staging"].verification
    assert found is not None
    one = found.check(spec.name)
    assert one is not None
    return one


def test_a_finding_for_another_run_or_a_finished_check_changes_nothing() -> None:
    """Stale results (other revision, other run, unknown check, finished check) are dropped."""
    running = b.check("smoke", count=1)
    assert recorded(SMOKE, running, findings.Answer(True, "ok"), revision="1.0") == running
    assert recorded(SMOKE, running, findings.Answer(True, "ok"), run=2) == running
    done = b.check("smoke", "Passed", count=1)
    assert recorded(SMOKE, done, findings.Answer(False, "no")) == done
    empty = status.PipelineStatus()
    action = actions.Check("staging", "1.1", 1, "smoke", "webhook", actions.START)
    unchanged = findings.record(
        empty, action=action, spec=SMOKE, finding=findings.Answer(True, "ok"), now=b.NOW
    )
    assert unchanged == empty
    other = b.verifying(None, "staging", b.verified("1.1", "Running", b.check("other")))
    assert (
        findings.record(
            other, action=action, spec=SMOKE, finding=findings.Answer(True, "ok"), now=b.NOW
        )
        == other
    )


def test_prometheus_measurements_pass_after_count_within_the_failure_limit() -> None:
    """count=3, failureLimit=1: a miss is tolerated, the third measurement passes the check."""
    first = recorded(ERRORS, b.check("error-rate"), findings.Sample(0.001))
    assert (first.phase.value, first.count, first.failed, first.value) == ("Running", 1, 0, "0.001")
    assert first.next_at == b.later(minutes=1)
    assert first.message == "measurement 1 of 3: 0.001"
    second = recorded(ERRORS, first, findings.Sample(0.5))
    assert (second.phase.value, second.count, second.failed) == ("Running", 2, 1)
    third = recorded(ERRORS, second, findings.Sample(0.002))
    assert (third.phase.value, third.message) == ("Passed", "3 measurement(s) < 0.01, last 0.002")
    assert third.finished_at == b.NOW and third.next_at is None


def test_prometheus_fails_beyond_the_failure_limit() -> None:
    """The second miss with failureLimit=1 fails the check, saying how many failed."""
    missed = b.check("error-rate", count=1, failed=1)
    after = recorded(ERRORS, missed, findings.Sample(float("nan")))
    assert after.phase is checks.CheckPhase.FAILED
    assert after.message == "NaN is not < 0.01 (2 of 2 measurements failed)"


def test_a_sample_for_a_check_that_changed_kind_is_ignored() -> None:
    """A stale Prometheus value recorded against a check now of another kind changes nothing."""
    check = b.check("smoke", count=1)
    assert recorded(SMOKE, check, findings.Sample(1.0)) == check


def test_errors_are_retried_then_fail_the_check() -> None:
    """Prometheus keeps its interval (or the hint) and fails after 4 errors in a row."""
    down = errors.TemporaryError("Prometheus at p:9090 did not answer")
    once = recorded(ERRORS, b.check("error-rate"), down)
    assert (once.phase.value, once.errors, once.next_at) == ("Running", 1, b.later(minutes=1))
    hinted = errors.TemporaryError("busy", delay=timedelta(minutes=5))
    assert recorded(ERRORS, once, hinted).next_at == b.later(minutes=5)
    last = recorded(ERRORS, b.check("error-rate", errors=3), down)
    assert last.phase is checks.CheckPhase.FAILED
    assert last.message == "gave up after 4 errors: Prometheus at p:9090 did not answer"
    back = recorded(ERRORS, once, findings.Sample(0.0))
    assert back.errors == 0


def test_a_webhook_gives_up_after_its_retries() -> None:
    """retries=1: the second failed call fails the check; backoff doubles in between."""
    hook = b.webhook(retries=1)
    broken = errors.PromotionError("answered 502")
    first = recorded(hook, b.check("smoke", count=1), broken)
    assert (first.phase.value, first.next_at) == ("Running", b.later(seconds=10))
    second = recorded(hook, first, broken)
    assert second.phase is checks.CheckPhase.FAILED
    default = recorded(SMOKE, b.check("smoke", count=1, errors=2), broken)
    assert default.phase is checks.CheckPhase.RUNNING  # 3 retries by default
    assert default.next_at == b.later(seconds=40)


def test_job_errors_wait_for_the_timeout_and_permanent_ones_fail_at_once() -> None:
    """Jobs retry temporary errors until their timeout; a permanent error fails right away."""
    slow = recorded(JOB, b.check("smoke-test", errors=50), errors.TemporaryError("503"))
    assert slow.phase is checks.CheckPhase.RUNNING
    denied = errors.PermanentError('jobs.batch is forbidden in namespace "staging"')
    refused = recorded(JOB, b.check("smoke-test"), denied)
    assert (refused.phase.value, refused.message) == (
        "Failed",
        'jobs.batch is forbidden in namespace "staging"',
    )


def test_started_jobs_are_read_next() -> None:
    """Created (or adopted) Jobs are counted and read again after a sixth of their age (an
    hour-old check: 1 minute; a fresh one: 5 seconds)."""
    started = recorded(
        JOB, b.check("smoke-test", nextAt=b.later(minutes=2)), findings.Started(2, "2 Jobs created")
    )
    assert (started.count, started.next_at, started.message) == (
        2,
        b.later(minutes=1),
        "2 Jobs created",
    )
    fresh = recorded(JOB, b.check("smoke-test", startedAt=b.NOW), findings.Started(1, "made"))
    assert fresh.next_at == b.later(seconds=5)
    unknown = recorded(JOB, b.check("smoke-test", startedAt=None), findings.Started(1, "made"))
    assert unknown.next_at == b.later(seconds=5)
    middle = recorded(
        JOB, b.check("smoke-test", startedAt=b.ago(minutes=3)), findings.Started(1, "m")
    )
    assert middle.next_at == b.later(seconds=30)


def test_answers_decide_or_look_again() -> None:
    """An undecided answer looks again in 10 seconds; a verdict finishes the check."""
    waiting = recorded(
        JOB, b.check("smoke-test", count=1), findings.Answer(None, "1 of 2 Jobs done", value="1/2")
    )
    assert (waiting.phase.value, waiting.next_at, waiting.value) == (
        "Running",
        b.later(minutes=1),
        "1/2",
    )
    ci = b.commit_checks()
    counted = recorded(ci, b.check("ci"), findings.Answer(None, "pending", count=3))
    assert (counted.count, counted.message) == (3, "pending")
    failed = recorded(ci, counted, findings.Answer(False, "ci/e2e: failure"))
    assert (failed.phase.value, failed.message, failed.finished_at) == (
        "Failed",
        "ci/e2e: failure",
        b.NOW,
    )
    passed = recorded(SMOKE, b.check("smoke", count=1), findings.Answer(True, "answered 204"))
    assert passed.phase is checks.CheckPhase.PASSED


# ---------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("text", "value", "holds_"),
    [
        ("< 0.01", 0.001, True),
        ("<0.01", 0.01, False),
        ("<= 0.01", 0.01, True),
        ("> 5", 5.0, False),
        (">= 0.99", 0.995, True),
        ("== 1", 1.0, True),
        ("!= 0", 0.0, False),
        ("!= 0", math.nan, True),
        ("< 1e3", math.nan, False),
        (" >= -2.5E-1 ", -0.25, True),
    ],
)
def test_thresholds(text: str, value: float, holds_: bool) -> None:
    """Each comparison holds as in IEEE 754 (NaN satisfies only !=)."""
    assert thresholds.parse(text).holds(value) is holds_


@pytest.mark.parametrize("text", ["0.01", "< ", "<< 1", "< 1 2", "~ 1", "< abc"])
def test_bad_thresholds(text: str) -> None:
    """Anything but a comparison and a number is refused with a sentence."""
    with pytest.raises(ValueError, match="is not a threshold"):
        thresholds.parse(text)


def test_threshold_and_value_spelling() -> None:
    """Values show six significant digits; NaN is NaN."""
    assert str(thresholds.parse(">=  0.990")) == ">= 0.99"
    assert thresholds.format_value(1234567.0) == "1.23457e+06"
    assert thresholds.format_value(math.nan) == "NaN"
