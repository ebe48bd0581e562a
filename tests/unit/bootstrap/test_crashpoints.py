"""Crash points: ``<label>:<n>[:KILL|STOP]`` signals this process at the n-th pass, once.

The signal itself is exercised by real processes (``tests/integration/processes``); here a child
process shows SIGKILL skips every ``finally``.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from ferryman.bootstrap import crashpoints
from ferryman.controller import fencing


def test_the_spec_names_label_pass_and_signal() -> None:
    """Default signal KILL; STOP freezes instead."""
    crash = crashpoints.parse("before-push:3")
    assert (crash.label, crash.occurrence, crash.signum) == ("before-push", 3, signal.SIGKILL)
    assert crashpoints.parse("after-promote:1:stop").signum is signal.SIGSTOP
    assert crashpoints.checkpoint(None) is fencing.no_checkpoint


@pytest.mark.parametrize("spec", ["before-push", "before-push:0", ":1", "x:1:TERM", "x:y"])
def test_malformed_specs_are_refused(spec: str) -> None:
    """A typo must not silently run a test without its crash."""
    with pytest.raises(ValueError, match="FERRYMAN_CRASH_AT"):
        crashpoints.parse(spec)


def test_the_nth_pass_kills_the_process_without_running_finally() -> None:
    """Passes before the n-th and other labels do nothing; the n-th is a SIGKILL: no clean-up."""
    program = (
        "from ferryman.bootstrap import crashpoints\n"
        "crash = crashpoints.parse('before-push:2')\n"
        "try:\n"
        "    crash('before-push'); crash('after-push'); print('first', flush=True)\n"
        "    crash('before-push'); print('second', flush=True)\n"
        "finally:\n"
        "    print('finally', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["first"]
    assert "Crash point reached label=before-push pass=2 signal=SIGKILL" in done.stderr
