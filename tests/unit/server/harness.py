"""A server over the in-memory fakes: the story's pipeline, a webhook key, tokens and RBAC grants.

``Harness`` builds the app from ``tests.fakes`` and drives it with
``call``, a direct ASGI invocation (no sockets, no threads) fast enough for property tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from tests.fakes import auth as fakes_auth
from tests.fakes import sessions as fakes_sessions
from tests.unit.controller import story

from ferryman.ports import auth
from ferryman.server import app as server_app
from ferryman.server import deps as server_deps

KEY = b"s3cr3t-flux-hmac-key"
TOKENS = {
    "alice-token": auth.Identity("alice", "u-alice", ("release-managers", "system:authenticated")),
    "carol-token": auth.Identity("carol", "u-carol", ("release-managers",)),
    "bob-token": auth.Identity("bob", "u-bob", ("developers",)),
    "eve-token": auth.Identity("eve", "u-eve", ()),
}
GRANTS = [
    fakes_auth.Grant(
        "group:release-managers",
        ("approve", "reject", "get", "list", "hold", "promote", "verify"),
    ),
    fakes_auth.Grant("carol", ("force",)),
    fakes_auth.Grant("bob", ("approve", "get", "list"), namespace="default", names=()),
]
PREFIX = "/api/v1/namespaces/default/pipelines/podinfo/environments"


@dataclass
class Reply:
    """What the app sent back."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Harness:
    """The story's world served by the app (see module docstring)."""

    signed: bool = True
    legacy: bool = False
    approval: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    registry: CollectorRegistry | None = None
    staging_checks: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.world = story.World(approval=self.approval, staging_checks=self.staging_checks)
        if self.signed:
            obj = self.world.pipeline()
            obj["spec"]["promotion"]["strategy"]["secretRef"] = {"name": "webhook"}
            obj.pop("status", None)
            self.world.api.put(obj)
        self.secrets = fakes_auth.FakeSecrets({("default", "webhook"): {"hmac-key": KEY}})
        self.authn = fakes_auth.FakeAuthenticator(TOKENS)
        self.reviewer = fakes_auth.FakeAccessReviewer(GRANTS)
        self.trigger = fakes_auth.FakeTrigger()
        self.deps = server_deps.Deps(
            store=self.world.api.store,
            cluster=self.world.api,
            secrets=self.secrets,
            events=self.world.api,
            authenticator=self.authn,
            reviewer=self.reviewer,
            trigger=self.trigger,
            clock=self.world.clock,
            sessions=fakes_sessions.FakeSessions(),
            options=server_deps.Options(enable_legacy_approval=self.legacy, **self.options),
            registry=self.registry,
        )
        self.app = server_app.create_app(self.deps)

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        chunks: list[bytes] | None = None,
        content_length: bool = True,
        client: str = "127.0.0.1",
    ) -> Reply:
        """One request straight into the ASGI app."""
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        parts = chunks if chunks is not None else [body]
        if chunks is None and content_length:
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": b"",
            "root_path": "",
            "headers": raw,
            "client": (client, 40000),
            "server": ("127.0.0.1", 8080),
        }
        queue = [
            {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
            for i, part in enumerate(parts)
        ]
        self.read = 0
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if queue:
                message = queue.pop(0)
                self.read += len(message["body"])
                return message
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        hdrs = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
        return Reply(start["status"], hdrs, body_out)

    async def approve(
        self,
        token: str,
        revision: str = "6.1.0",
        *,
        env: str = "prod",
        verb: str = "approve",
        comment: str = "looks good",
    ) -> Reply:
        """POST an approval (or rejection) as the owner of ``token``."""
        return await self.call(
            "POST",
            f"{PREFIX}/{env}/{verb}",
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=json.dumps({"revision": revision, "comment": comment}).encode(),
        )

    async def operate(self, token: str, action: str, *, env: str = "prod", **body: object) -> Reply:
        """POST an operator action (hold, unhold, promote, rollback, verify) as the owner of
        ``token``."""
        return await self.call(
            "POST",
            f"{PREFIX}/{env}/{action}",
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=json.dumps(body).encode(),
        )

    async def waiting(self) -> None:
        """Drive the story until prod waits for approval of 6.1.0."""
        self.world.release("6.1.0")
        await drive(self.world)
        assert self.world.phase("prod") == "WaitingApproval"

    def state(self) -> tuple[int, int, int]:
        """Status writes, Events, and the fake API's resourceVersion (bumped by any change)."""
        return (self.world.api.status_writes, len(self.world.api.events), self.world.api.version)


async def drive(world: story.World, owner: str = "a", passes: int = 3) -> None:
    """Reconcile and let Flux catch up a few times."""
    rec = world.reconciler(owner)
    for _ in range(passes):
        await rec.reconcile(story.NS, story.NAME)
        world.flux_catch_up()
        world.clock.advance(1)


def flux_event(
    *,
    kind: str = "HelmRelease",
    name: str = "podinfo",
    namespace: str = "dev",
    revision: str = "6.1.0",
) -> bytes:
    """A notification-controller event as the generic(-hmac) provider posts it."""
    return json.dumps(
        {
            "involvedObject": {
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "uid": "5a2b",
            },
            "severity": "info",
            "timestamp": "2026-01-01T12:00:00Z",
            "message": "Helm upgrade succeeded",
            "reason": "UpgradeSucceeded",
            "metadata": {"revision": revision},
            "reportingController": "helm-controller",
            "reportingInstance": "helm-controller-7f8",
        }
    ).encode()
