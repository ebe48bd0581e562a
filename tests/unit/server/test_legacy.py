"""The legacy approval endpoint: off by default, warns when on, HMAC over the empty body."""

from __future__ import annotations

import logging

import pytest
from tests.unit.server import harness

from ferryman.domain import signatures

URL = "/approval/default/podinfo/prod/6.1.0"


async def test_enabling_logs_the_replay_risk(caplog: pytest.LogCaptureFixture) -> None:
    """Turning it on logs a warning that names the replay risk."""
    caplog.set_level(logging.WARNING)
    harness.Harness(legacy=True)
    assert any(
        "replayed" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    )


async def test_signed_empty_body_records_an_approval_by_legacy_hmac() -> None:
    """A valid signature approves as user legacy-hmac through the API's write path."""
    h = harness.Harness(legacy=True, approval={"required": 1})
    await h.waiting()
    reply = await h.call("POST", URL, headers={"x-signature": signatures.sign(harness.KEY, b"")})
    assert reply.status == 202
    assert [a["user"] for a in reply.json()["approvals"]] == ["legacy-hmac"]
    assert h.world.api.events[-1]["message"] == "Approved by legacy-hmac"
    assert h.trigger.enqueued == [("default", "podinfo")]


async def test_spec_approver_lists_still_apply() -> None:
    """prod admits only release-managers: the legacy user is refused (403)."""
    h = harness.Harness(legacy=True)
    await h.waiting()
    before = h.state()
    reply = await h.call("POST", URL, headers={"x-signature": signatures.sign(harness.KEY, b"")})
    assert reply.status == 403 and h.state() == before


async def test_pipeline_without_a_key_cannot_be_approved_unsigned() -> None:
    """No secretRef: the legacy endpoint refuses (401) instead of accepting unsigned approvals."""
    h = harness.Harness(legacy=True, signed=False, approval={"required": 1})
    await h.waiting()
    before = h.state()
    reply = await h.call("POST", URL)
    assert reply.status == 401 and h.state() == before


async def test_signature_for_another_path_is_replayable_only_for_the_same_key() -> None:
    """The signature covers the empty body only, so changing the body breaks it (401)."""
    h = harness.Harness(legacy=True, approval={"required": 1})
    await h.waiting()
    sig = {"x-signature": signatures.sign(harness.KEY, b"")}
    assert (await h.call("POST", URL, headers=sig, body=b"x")).status == 401
    wrong_revision = await h.call("POST", "/approval/default/podinfo/prod/9.9.9", headers=sig)
    assert wrong_revision.status == 409
