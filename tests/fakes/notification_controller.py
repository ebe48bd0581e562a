"""A stand-in for Flux notification-controller's event receiver, on 127.0.0.1.

It answers as ``internal/server/event_server.go`` does (fluxcd/notification-controller, 2e46958):

- a body Go cannot decode into fluxcd/pkg's ``Event`` is 400;
- the duplicate filter (``eventKeyFunc`` over go-limiter, one event per key per interval) answers
  429 to an event whose key — involved object name, namespace, kind, message, and the
  ``<group>/originRevision``, ``<group>/revision`` and ``<group>/token`` metadata — it has seen;
- anything else is 202.

On top of that it checks what fluxcd/pkg's recorder guarantees about what it sends (POST,
``Content-Type: application/json``, an involved object with kind, name and namespace, a severity
of ``info`` or ``error``, a reason, a message of at most 39,000 characters) and records every
request; a test can script failures first (``fail_with``: status codes, or ``0`` to drop the
connection without an answer). A threaded ``http.server``: the controller's client is real HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SEVERITIES = ("info", "error")
MAX_MESSAGE = 39_000


@dataclasses.dataclass
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what it answered (0: dropped)

    def event(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


class EventReceiver:
    """The receiver's state; serve it with ``running``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_with: list[int] = []
        self.problems: list[str] = []  # what was wrong with requests (for assertions)
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def delivered(self) -> list[Received]:
        """Requests the receiver took in (202) or knew already (429)."""
        return [r for r in self.received if r.status in (202, 429)]

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.fail_with.pop(0) if self.fail_with else self._judge(method, headers, body)
            self.received.append(Received(method, path, headers, body, status))
            return status

    def _judge(self, method: str, headers: dict[str, str], body: bytes) -> int:
        event = self._decode(method, headers, body)
        if event is None:
            return 400
        key = event_key(event)
        if key in self._keys:
            return 429
        self._keys.add(key)
        return 202

    def _decode(self, method: str, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        problems = []
        if method != "POST":
            problems.append(f"method {method}")
        if headers.get("content-type") != "application/json":
            problems.append(f"content type {headers.get('content-type')!r}")
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            self.problems.append("body is not a JSON object")
            return None
        involved = event.get("involvedObject") or {}
        for field in ("kind", "name", "namespace"):
            if not isinstance(involved.get(field), str) or not involved[field]:
                problems.append(f"involvedObject.{field} missing")
        if event.get("severity") not in SEVERITIES:
            problems.append(f"severity {event.get('severity')!r}")
        if not event.get("reason"):
            problems.append("no reason")
        if len(event.get("message") or "") > MAX_MESSAGE:
            problems.append("message too long")
        self.problems.extend(problems)
        return event


def event_key(event: dict[str, Any]) -> str:
    """notification-controller's ``eventKeyFunc``."""
    involved = event.get("involvedObject") or {}
    group = str(involved.get("apiVersion", "")).rpartition("/")[0]
    metadata = event.get("metadata") or {}
    parts = [
        "event",
        f"name={involved.get('name', '')}",
        f"namespace={involved.get('namespace', '')}",
        f"kind={involved.get('kind', '')}",
        f"message={event.get('message', '')}",
    ]
    for key, label in (("originRevision", "originRevision"), ("revision", "revision")):
        if f"{group}/{key}" in metadata:
            parts.append(f"{label}={metadata[f'{group}/{key}']}")
    if f"{group}/token" in metadata:
        parts.append(f"token={metadata[f'{group}/token']}")
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


@contextmanager
def running(receiver: EventReceiver) -> Iterator[str]:
    """Serve ``receiver`` on a free port of 127.0.0.1; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(self.command, self.path, headers, body)
            if status == 0:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
