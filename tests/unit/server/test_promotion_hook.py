"""The Flux event receiver: HMAC before parsing, one 401 for every auth failure, trigger-only."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import CollectorRegistry
from tests import fixtures
from tests.unit.server import harness

from ferryman.domain import signatures

URL = "/promotion/default/podinfo/dev"

# Known answers computed outside Python (``openssl dgst -<alg> -hmac``) for KAT_KEY and KAT_BODY.
KAT_KEY = b"s3cr3t-flux-hmac-key"
KAT_BODY = (
    b'{"involvedObject":{"kind":"HelmRelease","name":"podinfo","namespace":"dev"},'
    b'"metadata":{"revision":"6.1.0"}}'
)
KAT = {
    "sha224": "61638021417d99a2b6d775ef654ab869da8bc84c07132759ba069bb6",
    "sha256": "f757de310c6da8e97258ca29d2b256eb871954bf8e91f85618b61d5780695f45",
    "sha384": "128d88340e355fc00e8b6e052158b37f1995188768866e25ae8cb82c725f7a3e"
    "512fdd8251d5d2300cc9bb81597d8872",
    "sha512": "b90c4c8402860a624cda667b8d655446610fe60406afdf4fe64e2d7868d61955"
    "71e748e34d188f1edd1176a0e517f97783431cf798e544f55f395ab6cf5ddaca",
}


def sign(body: bytes, key: bytes = harness.KEY, algorithm: str = "sha256") -> dict[str, str]:
    """The X-Signature header Flux's generic-hmac provider sends."""
    return {"x-signature": signatures.sign(key, body, algorithm)}


async def test_signed_event_triggers_a_reconcile_and_writes_nothing() -> None:
    """A valid signed event answers 202, enqueues the pipeline, and writes no status."""
    h = harness.Harness()
    before = h.state()
    body = harness.flux_event()
    reply = await h.call("POST", URL, headers=sign(body), body=body)
    assert reply.status == 202
    assert h.trigger.enqueued == [("default", "podinfo")]
    assert h.state() == before


async def test_replayed_event_changes_nothing() -> None:
    """The same signed event twice: two triggers, zero status writes, zero events."""
    h = harness.Harness()
    await h.waiting()
    before = h.state()
    body = harness.flux_event()
    for _ in range(2):
        assert (await h.call("POST", URL, headers=sign(body), body=body)).status == 202
    assert h.state() == before
    assert len(h.trigger.enqueued) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-signature": ""},
        {"x-signature": "sha256"},
        {"x-signature": "sha256="},
        {"x-signature": "md5=" + "0" * 32},
        {"x-signature": "sha256=" + "zz" * 32},
        {"x-signature": "sha256=" + "00" * 31},
        {"x-signature": "sha256=" + "00" * 32},
        {"x-signature": signatures.sign(b"another key", harness.flux_event())},
    ],
    ids=[
        "missing",
        "empty",
        "no-digest",
        "empty-digest",
        "unknown-algorithm",
        "not-hex",
        "short",
        "wrong",
        "other-key",
    ],
)
async def test_every_signature_failure_answers_the_same_401(headers: dict[str, str]) -> None:
    """Bad, missing and unknown-algorithm signatures all answer one identical 401."""
    h = harness.Harness()
    reference = await h.call("POST", "/promotion/default/nope/dev", body=b"{}")
    reply = await h.call("POST", URL, headers=headers, body=harness.flux_event())
    assert (reply.status, reply.body) == (401, reference.body)
    assert reference.status == 401
    assert h.trigger.enqueued == []


@pytest.mark.parametrize("algorithm", sorted(KAT))
async def test_known_answer_vectors_pass_through_the_endpoint(algorithm: str) -> None:
    """Each published vector is accepted; one flipped bit of body or digest is refused."""
    assert KAT_KEY == harness.KEY
    h = harness.Harness()
    digest = KAT[algorithm]
    good = {"x-signature": f"{algorithm}={digest}"}
    assert (await h.call("POST", URL, headers=good, body=KAT_BODY)).status == 202
    flipped_body = KAT_BODY[:-1] + bytes([KAT_BODY[-1] ^ 1])
    assert (await h.call("POST", URL, headers=good, body=flipped_body)).status == 401
    flipped = format(int(digest[-1], 16) ^ 1, "x")
    bad = {"x-signature": f"{algorithm}={digest[:-1]}{flipped}"}
    assert (await h.call("POST", URL, headers=bad, body=KAT_BODY)).status == 401
    assert len(h.trigger.enqueued) == 1


async def test_signature_for_another_pipeline_or_body_fails() -> None:
    """A signature made with another pipeline's key, or for another body, is refused."""
    h = harness.Harness()
    obj = h.world.pipeline()
    obj["metadata"]["name"] = "other"
    obj["spec"]["promotion"]["strategy"]["secretRef"] = {"name": "other-webhook"}
    obj.pop("status", None)
    h.world.api.put(obj)
    h.secrets.data[("default", "other-webhook")] = {"hmac-key": b"other-key"}
    body = harness.flux_event()
    other_sig = sign(body, b"other-key")
    assert (
        await h.call("POST", "/promotion/default/other/dev", headers=other_sig, body=body)
    ).status == 202
    assert (await h.call("POST", URL, headers=other_sig, body=body)).status == 401
    signed_other_body = sign(harness.flux_event(revision="9.9.9"))
    assert (await h.call("POST", URL, headers=signed_other_body, body=body)).status == 401


async def test_missing_pipeline_environment_secret_or_key_answer_401() -> None:
    """No oracle: unknown pipeline or environment, missing Secret or empty key: the same 401."""
    h = harness.Harness()
    body = harness.flux_event()
    reference = await h.call("POST", "/promotion/default/nope/dev", headers=sign(body), body=body)
    unknown_env = await h.call(
        "POST", "/promotion/default/podinfo/qa", headers=sign(body), body=body
    )
    h.secrets.data[("default", "webhook")] = {"hmac-key": b""}
    empty_key = await h.call("POST", URL, headers=sign(body), body=body)
    h.secrets.data.clear()
    no_secret = await h.call("POST", URL, headers=sign(body), body=body)
    for reply in (reference, unknown_env, empty_key, no_secret):
        assert (reply.status, reply.body) == (401, reference.body)
    assert h.trigger.enqueued == []


async def test_unsigned_event_is_accepted_when_no_secret_ref_is_set() -> None:
    """Compatibility: a pipeline without secretRef takes the generic (unsigned) provider."""
    h = harness.Harness(signed=False)
    reply = await h.call("POST", URL, body=harness.flux_event())
    assert reply.status == 202
    assert h.trigger.enqueued == [("default", "podinfo")]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"involvedObject": "podinfo"}',
        b'{"metadata": {"revision": 6}}',
        b'{"timestamp": "yesterday"}',
        b'{"involvedObject": {"name": ["podinfo"]}}',
    ],
    ids=[
        "not-json",
        "not-object",
        "object-is-a-string",
        "revision-is-a-number",
        "timestamp-not-rfc3339",
        "name-is-a-list",
    ],
)
async def test_authentic_but_malformed_bodies_are_400(body: bytes) -> None:
    """A body Go could not decode into a Flux Event is 400, after authentication."""
    h = harness.Harness()
    before = h.state()
    reply = await h.call("POST", URL, headers=sign(body), body=body)
    assert reply.status == 400
    assert h.trigger.enqueued == []
    assert h.state() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"metadata": {"revision": "1"}}', "other-object"),
        (b"{}", "other-object"),
        (harness.flux_event(kind="Kustomization"), "other-object"),
        (harness.flux_event(name="other"), "other-object"),
        (harness.flux_event(namespace="prod"), "other-namespace"),
        (harness.flux_event(revision=""), "no-revision"),
        (fixtures.raw("flux/events/gitrepository-wildcard.json"), "other-object"),
        (fixtures.raw("flux/events/event-key-func-null-timestamp.json"), "other-object"),
    ],
    ids=[
        "no-involved-object",
        "empty-event",
        "other-kind",
        "other-name",
        "other-namespace",
        "no-revision",
        "wildcard-alert-source",
        "flux-test-event-null-timestamp",
    ],
)
async def test_authentic_well_formed_but_irrelevant_events_are_202_and_counted(
    body: bytes, reason: str
) -> None:
    """Flux records a refusal as a failed dispatch on the Alert every time, so an event that
    cannot concern this environment is acknowledged (202), counted by reason, and changes
    nothing."""
    registry = CollectorRegistry()
    h = harness.Harness(registry=registry)
    before = h.state()
    reply = await h.call("POST", URL, headers=sign(body), body=body)
    assert (reply.status, reply.json()["reason"]) == (202, "Ignored")
    assert h.trigger.enqueued == []
    assert h.state() == before
    sample = registry.get_sample_value(
        "ferryman_promotion_events_ignored_total", {"reason": reason}
    )
    assert sample == 1.0


async def test_flux_events_with_null_timestamp_and_missing_fields_are_accepted() -> None:
    """``"timestamp": null`` (a zero metav1.Time) and absent optional fields still trigger."""
    h = harness.Harness()
    event = json.loads(fixtures.raw("flux/events/helmrelease-upgrade-succeeded.json"))
    event["timestamp"] = None
    for field in ("severity", "reason", "reportingController", "reportingInstance", "message"):
        del event[field]
    event["involvedObject"]["namespace"] = "dev"
    body = json.dumps(event, separators=(",", ":")).encode()
    assert (await h.call("POST", URL, headers=sign(body), body=body)).status == 202
    assert h.trigger.enqueued == [("default", "podinfo")]


async def test_a_helm_controller_event_as_notification_controller_forwards_it() -> None:
    """The exact bytes notification-controller's generic provider posts for a HelmRelease
    upgrade (tests/fixtures/flux/events) trigger a reconcile of the pipeline."""
    h = harness.Harness()
    body = fixtures.raw("flux/events/helmrelease-upgrade-succeeded.json")
    reply = await h.call("POST", URL, headers=sign(body), body=body)
    assert (reply.status, reply.json()["reason"]) == (202, "Accepted")
    assert h.trigger.enqueued == [("default", "podinfo")]
    canceled = fixtures.raw("flux/events/helmrelease-health-check-canceled.json")
    reply = await h.call("POST", URL, headers=sign(canceled), body=canceled)
    assert (reply.status, reply.json()["reason"]) == (202, "Ignored")


async def test_group_prefixed_revision_metadata_is_understood() -> None:
    """Flux may send ``helm.toolkit.fluxcd.io/revision``; it counts as the revision."""
    h = harness.Harness()
    body = harness.flux_event().replace(b'"revision"', b'"helm.toolkit.fluxcd.io/revision"')
    assert (await h.call("POST", URL, headers=sign(body), body=body)).status == 202


async def test_secret_reader_outage_fails_closed_with_503() -> None:
    """When the key cannot be read the request is refused (503), never accepted unsigned."""
    h = harness.Harness()
    h.secrets.unavailable = True
    body = harness.flux_event()
    reply = await h.call("POST", URL, headers=sign(body), body=body)
    assert reply.status == 503
    assert h.trigger.enqueued == []


async def test_keys_never_appear_in_responses_logs_or_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """HMAC keys, signatures and bearer tokens stay out of every response, log line and status."""
    caplog.set_level(logging.DEBUG)
    h = harness.Harness(legacy=True)
    await h.waiting()
    body = harness.flux_event()
    replies = [
        await h.call("POST", URL, headers=sign(body), body=body),
        await h.call("POST", URL, headers={"x-signature": "sha256=" + "00" * 32}, body=body),
        await h.call("POST", "/approval/default/podinfo/prod/6.1.0", headers=sign(b"")),
    ]
    replies.append(await h.approve("carol-token"))
    replies.append(await h.approve("unknown-token"))
    h.secrets.data.clear()
    replies.append(await h.call("POST", URL, headers=sign(body), body=body))
    for token in ("carol-token", "unknown-token"):
        assert token not in caplog.text and all(token.encode() not in r.body for r in replies)
    secret = harness.KEY.decode()
    signature = sign(body)["x-signature"].split("=")[1]
    for reply in replies:
        assert secret.encode() not in reply.body and signature.encode() not in reply.body
    assert secret not in caplog.text and signature not in caplog.text
    assert secret not in json.dumps(h.world.pipeline())


# notification-controller internal/notifier/forwarder_test.go (TestForwarder_Post).
NC_KEY = b"7152fed34dd6149a7c75a276c510da27cb6f82b0"
NC_SIGNATURE = "sha256=65b018549b1254e7226d1c08f9567ee45bc9de0fc4e7b1a40253f9a018b08be7"


async def test_notification_controllers_own_test_vector_verifies_through_the_endpoint() -> None:
    """The event bytes and signature of notification-controller's forwarder test pass the HMAC
    check (then are ignored: the event is about a GitRepository); one flipped bit is a 401."""
    h = harness.Harness()
    h.secrets.data[("default", "webhook")] = {"hmac-key": NC_KEY}
    body = fixtures.raw("flux/events/forwarder-test-vector.json")
    reply = await h.call("POST", URL, headers={"x-signature": NC_SIGNATURE}, body=body)
    assert (reply.status, reply.json()["reason"]) == (202, "Ignored")
    flipped = body.replace(b'"webapp"', b'"webapq"')
    reply = await h.call("POST", URL, headers={"x-signature": NC_SIGNATURE}, body=flipped)
    assert reply.status == 401


@pytest.mark.parametrize(
    ("secret", "signed_with"),
    [
        (b"s3cr3t\n", b"s3cr3t\n"),
        (b"s3cr3t\n", b"s3cr3t"),
        (b"  s3cr3t  ", b"s3cr3t"),
        (b"  s3cr3t  ", b"  s3cr3t  "),
        (b"\xc2\xa0s3cr3t\r\n", b"s3cr3t"),
    ],
    ids=[
        "from-file newline, Flux >= 1.7 (raw)",
        "from-file newline, Flux < 1.7 (trimmed)",
        "spaces, Flux < 1.7 (trimmed)",
        "spaces, Flux >= 1.7 (raw)",
        "no-break space and CRLF, Go's TrimSpace",
    ],
)
async def test_keys_with_whitespace_verify_as_every_flux_version_signs(
    secret: bytes, signed_with: bytes
) -> None:
    """The raw key and the whitespace-trimmed key both verify; another key does not."""
    h = harness.Harness()
    h.secrets.data[("default", "webhook")] = {"hmac-key": secret}
    body = harness.flux_event()
    assert (await h.call("POST", URL, headers=sign(body, signed_with), body=body)).status == 202
    other = sign(body, b"s3cr3t-other")
    assert (await h.call("POST", URL, headers=other, body=body)).status == 401
