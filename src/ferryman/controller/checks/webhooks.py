"""``webhook`` checks: POST a signed JSON payload and judge the answer.

The payload names the pipeline (namespace, name, uid), the environment, the revision, the check,
the run and the environment's targets, plus ``key``: the same for every call of one run of one
check (also in ``X-Ferryman-Delivery``), so a receiver can tell a retry from a new request — a
controller that dies between the call and recording its answer calls again (at least once).
``X-Signature: sha256=<hex>`` is the HMAC of the exact body under the Secret's ``hmac-key``, as
Flux's ``generic-hmac`` provider signs (``domain.signatures``); the key never leaves this module.

Answers: 2xx passes; 4xx fails the check with the start of the answer's body (``message`` of a
JSON body, else its text); 3xx fails too (redirects are not followed: the signed payload goes
where the spec says, nowhere else); 5xx and network errors are retried with backoff
(``findings``).
"""

from __future__ import annotations

import json
from typing import Any, Final

import ferryman
from ferryman.api import durations, pipeline
from ferryman.api import verification as checks
from ferryman.domain import actions, errors, findings, naming, signatures
from ferryman.ports import promotion, webhooks

KEY: Final = "hmac-key"
DEFAULT_TIMEOUT: Final = "10s"
MAX_SHOWN: Final = 80  # characters of an answer's body kept in the check's message


def payload(subject: pipeline.Pipeline, action: actions.Check) -> dict[str, Any]:
    """What the receiver learns: which pipeline, environment, revision, check and run."""
    meta = subject.metadata
    environment = subject.spec.environment(action.environment)
    targets = environment.targets if environment is not None else ()
    return {
        "apiVersion": pipeline.API_VERSION,
        "kind": "VerificationRequest",
        "pipeline": {"namespace": meta.namespace, "name": meta.name, "uid": meta.uid},
        "environment": action.environment,
        "revision": action.revision,
        "check": action.check,
        "run": action.run,
        "targets": [
            {
                "namespace": target.namespace,
                **({"cluster": target.cluster_ref.name} if target.cluster_ref else {}),
            }
            for target in targets
        ],
        "key": delivery_key(subject, action),
    }


def delivery_key(subject: pipeline.Pipeline, action: actions.Check) -> str:
    """The key of one run of one check (every call of the run sends the same)."""
    return naming.check_key(
        pipeline_uid=subject.metadata.uid or subject.metadata.name,
        environment=action.environment,
        revision=action.revision,
        check=action.check,
        run=action.run,
    )


def request(
    subject: pipeline.Pipeline, action: actions.Check, spec: checks.WebhookCheck, key: bytes
) -> webhooks.WebhookCall:
    """The call: the payload as compact JSON, its signature and delivery key."""
    body = json.dumps(payload(subject, action), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ferryman/{ferryman.__version__}",
        "X-Ferryman-Delivery": delivery_key(subject, action),
        "X-Signature": signatures.sign(key, body),
    }
    timeout = durations.parse(spec.timeout or DEFAULT_TIMEOUT).total_seconds()
    return webhooks.WebhookCall(url=spec.url, body=body, headers=headers, timeout=timeout)


def shown(body: str) -> str:
    """The part of an answer's body a person should see: a JSON ``message``, else the text,
    on one line and cut short."""
    text = body.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        text = parsed["message"]
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= MAX_SHOWN else line[: MAX_SHOWN - 1] + "…"


def judge(answer: webhooks.WebhookAnswer) -> findings.Answer:
    """What the answer means (5xx raises a ``TemporaryError``: the domain retries it)."""
    said = shown(answer.body)
    detail = f"answered {answer.status}" + (f": {said}" if said else "")
    if 200 <= answer.status < 300:
        return findings.Answer(True, detail, value=str(answer.status))
    if answer.status >= 500:
        raise errors.TemporaryError(detail, reason="WebhookUnavailable")
    if 300 <= answer.status < 400:
        detail += " (redirects are not followed)"
    return findings.Answer(False, detail, value=str(answer.status))


async def call(
    sender: webhooks.WebhookSender,
    secrets: promotion.SecretReader,
    subject: pipeline.Pipeline,
    action: actions.Check,
    spec: checks.WebhookCheck,
) -> findings.Answer:
    """Sign and send one call; judge its answer."""
    data = await secrets.read(subject.metadata.namespace, spec.secret_ref.name)
    key = data.get(KEY)
    if not key:
        raise errors.PermanentError(
            f'secret "{subject.metadata.namespace}/{spec.secret_ref.name}" has no "{KEY}" '
            "to sign the webhook payload with",
            reason="SecretInvalid",
        )
    return judge(await sender.send(request(subject, action, spec, key)))
