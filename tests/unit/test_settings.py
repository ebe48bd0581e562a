"""Settings: leader-election timings are checked together, the crash hook is read once."""

from __future__ import annotations

import pytest

from ferryman.settings import Settings


def test_client_go_defaults_leave_no_overlap_without_a_pause() -> None:
    """15 s lease, 10 s renew deadline, 2 s retry, 5 s step: deadline + step fits the lease."""
    settings = Settings()
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    assert settings.renew_deadline + settings.step_timeout <= settings.lease_duration


@pytest.mark.parametrize(
    ("timings", "problem"),
    [
        ({"lease_duration": 2.5}, "whole number of seconds"),
        ({"renew_deadline": 15.0}, "renew deadline (15s) must be shorter than the lease"),
        ({"retry_period": 10.0}, "retry period (10s) must be shorter than the renew deadline"),
        ({"step_timeout": 15.0}, "step timeout (15s) must be shorter than the lease"),
    ],
)
def test_inconsistent_timings_are_refused(timings: dict[str, float], problem: str) -> None:
    """A renew deadline, retry period or step timeout that the lease cannot cover is an error."""
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Settings(**timings)  # type: ignore[arg-type]


def test_the_crash_hook_comes_from_the_environment() -> None:
    """``FERRYMAN_CRASH_AT`` is read here and nowhere else."""
    settings = Settings.from_environment({"FERRYMAN_CRASH_AT": "before-push:2"})
    assert settings.crash_at == "before-push:2"
    assert Settings.from_environment({}).crash_at is None
