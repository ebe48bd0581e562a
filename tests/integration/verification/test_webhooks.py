"""``webhook`` checks over real HTTP: the adapter against a receiver on loopback (plain HTTP and
HTTPS with a private CA), and a whole check through the verifier — signature, delivery key,
answers, redirects, timeouts, bounded reads."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes import gitserver, pki
from tests.fakes import verification as check_fakes
from tests.unit.domain import builders as b

from ferryman.adapters import webhooks
from ferryman.controller import checks
from ferryman.domain import actions, errors, findings, signatures
from ferryman.ports import webhooks as port

KEY = b"a-webhook-signing-key-of-32-bytes"
Serve = Callable[..., tuple[gitserver.GitServer, check_fakes.WebhookReceiver]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start receivers (plain HTTP, or HTTPS with ``tls``); all stop at the end."""
    started: list[gitserver.GitServer] = []

    def start(
        *script: check_fakes.Scripted, tls: ssl.SSLContext | None = None
    ) -> tuple[gitserver.GitServer, check_fakes.WebhookReceiver]:
        receiver = check_fakes.WebhookReceiver(KEY, list(script) or [check_fakes.Scripted(204)])
        server = gitserver.GitServer(
            tmp_path / f"srv-{len(started)}", username="u", password="p", api=receiver, tls=tls
        )
        receiver.stopping = server.stopping
        started.append(server.start())
        return server, receiver

    yield start
    for server in started:
        server.stopping.set()
        server.stop()


@pytest.fixture
async def sender() -> AsyncIterator[webhooks.HttpWebhookSender]:
    async with httpx.AsyncClient() as client:
        yield webhooks.HttpWebhookSender(client)


def call(
    url: str, body: bytes = b'{"revision": "6.2.0"}', timeout: float = 5.0
) -> port.WebhookCall:
    return port.WebhookCall(
        url=url, body=body, headers={"X-Signature": signatures.sign(KEY, body)}, timeout=timeout
    )


async def test_answers_come_back_as_they_are(
    serve: Serve, sender: webhooks.HttpWebhookSender
) -> None:
    """Status and body as sent; a redirect is an answer, never followed; reads stop at 4 KiB."""
    server, receiver = serve(
        check_fakes.Scripted(422, {"message": "checkout broken"}),
        check_fakes.Scripted(302, None, {"Location": "https://elsewhere.example/x"}),
        check_fakes.Scripted(200, "x" * 10_000),
    )
    first = await sender.send(call(server.url("/verify")))
    assert (first.status, json.loads(first.body)) == (422, {"message": "checkout broken"})
    moved = await sender.send(call(server.url("/verify")))
    assert moved.status == 302 and len(receiver.received) == 2
    big = await sender.send(call(server.url("/verify")))
    assert big.status == 200 and len(big.body) == webhooks.MAX_READ


async def test_transport_failures_are_temporary_and_bad_certificates_permanent(
    serve: Serve, sender: webhooks.HttpWebhookSender
) -> None:
    """A hang past the timeout and a closed port are retried; an unverifiable certificate and a
    plain-HTTP URL off loopback are not."""
    server, _ = serve(check_fakes.Scripted(200, hang=5))
    with pytest.raises(errors.TemporaryError, match=r"did not answer within 0\.3s"):
        await sender.send(call(server.url("/verify"), timeout=0.3))
    closed = f"http://127.0.0.1:{free_port()}/verify"
    with pytest.raises(errors.TemporaryError, match=r"cannot reach 127\.0\.0\.1"):
        await sender.send(call(closed))
    authority = pki.Authority()
    issued = authority.issue("127.0.0.1", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tmp = Path(server.root).parent
    (tmp / "cert.pem").write_text(issued.cert)
    (tmp / "key.pem").write_text(issued.key)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    secure, _ = serve(check_fakes.Scripted(204), tls=context)
    with pytest.raises(errors.PermanentError, match="could not be verified") as refused:
        await sender.send(call(secure.url("/verify")))
    assert refused.value.reason == "CertificateUnverifiable"
    trusting = httpx.AsyncClient(verify=ssl.create_default_context(cadata=authority.cert))
    async with trusting:
        answer = await webhooks.HttpWebhookSender(trusting).send(call(secure.url("/verify")))
    assert answer.status == 204
    with pytest.raises(errors.PermanentError, match="must start with https://"):
        await sender.send(call("http://hooks.example.com/verify"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port_: int = sock.getsockname()[1]
        return port_


async def test_a_check_signs_its_payload_and_judges_the_answer(
    serve: Serve, sender: webhooks.HttpWebhookSender
) -> None:
    """Through the verifier: the receiver sees a valid signature and the delivery key, a 5xx is a
    temporary error, a 4xx fails with the receiver's message, a 2xx passes."""
    server, receiver = serve(
        check_fakes.Scripted(503, {"message": "busy"}),
        check_fakes.Scripted(422, {"message": "cart is empty after checkout"}),
        check_fakes.Scripted(200, {"message": "ok"}),
    )
    subject = b.make(
        "dev",
        b.environment("staging", verify=[b.webhook(url=server.url("/verify"))]),
        promotion=b.notified(),
    )
    secrets = check_fakes.FakeSecrets({"hooks": {"hmac-key": KEY}})
    verifier = checks.Verifier(checks.Ports(secrets=secrets, webhooks=sender))
    action = actions.Check("staging", "6.2.0", 1, "smoke", "webhook", actions.START)
    busy = await verifier.run(subject, action)
    assert isinstance(busy, errors.TemporaryError) and str(busy) == "answered 503: busy"
    said = await verifier.run(subject, action)
    assert said == findings.Answer(False, "answered 422: cart is empty after checkout", "422")
    passed = await verifier.run(subject, action)
    assert passed == findings.Answer(True, "answered 200: ok", "200")
    keys = {request.headers["x-ferryman-delivery"] for request in receiver.received}
    payloads = [json.loads(request.body) for request in receiver.received]
    assert len(keys) == 1 and {p["key"] for p in payloads} == keys
    assert payloads[0]["revision"] == "6.2.0" and payloads[0]["check"] == "smoke"
    assert all(r.headers["content-type"] == "application/json" for r in receiver.received)
