"""Issue 16, item 9: a hostile Git server echoing the password encoded must not get it anywhere.

The review's server echoed the password base64-encoded (the plain form was already scrubbed) and
it reached status, Events and logs. Here a Git smart-HTTP server asks for Basic credentials, then
answers with an ``ERR`` packet that echoes the ``Authorization`` header, the password in base64
(both alphabets) and percent-encoded; the real git CLI prints it as ``remote error``, and the real
workspace adapter turns it into the error that becomes status and Events.
"""

from __future__ import annotations

import base64
import http.server
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib import parse

import pytest

from ferryman.adapters import gitrepo
from ferryman.domain import errors
from ferryman.ports import git

USER = "ferryman"
PASSWORD = "Tr0ub4dor&3 horse/staple+battery?"


def pkt(line: str) -> bytes:
    """One pkt-line."""
    data = line.encode()
    return f"{len(data) + 4:04x}".encode() + data


def leaks() -> list[str]:
    """Every form of the password the hostile server sends back."""
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [
        PASSWORD,
        basic,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.urlsafe_b64encode(PASSWORD.encode()).decode(),
        parse.quote(PASSWORD, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), parse.quote(PASSWORD, safe="")),
        parse.quote_plus(PASSWORD),
    ]


class Hostile(http.server.BaseHTTPRequestHandler):
    """Git over HTTP that demands Basic auth, then echoes the credentials in an ERR packet."""

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        if not authorization:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="hostile"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        echo = " ".join([f"your {authorization}", *leaks()[2:]])
        body = pkt("# service=git-upload-pack\n") + b"0000" + pkt(f"ERR {echo}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-git-upload-pack-advertisement")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def hostile_server() -> Iterator[str]:
    """The hostile Git server's repository URL (plain HTTP on loopback)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fleet.git"
    finally:
        server.shutdown()
        server.server_close()


async def test_item9_encoded_password_echoed_by_the_server_is_scrubbed(
    hostile_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The error that reaches status and Events, and every log line, hold the password in no
    form: not plain, not base64 (alone or in ``user:password``), not percent-encoded."""
    caplog.set_level(logging.DEBUG)
    workspaces = gitrepo.GitRepositories(cache_dir=tmp_path / "cache")
    credentials = git.Credentials(username=USER, password=PASSWORD)
    with pytest.raises(errors.PromotionError) as raised:
        async with workspaces.open(hostile_server, "main", credentials):
            pass
    message = str(raised.value)
    assert "remote error" in message and "your Basic" in message  # the echo did arrive
    everything = "\n".join([message, repr(raised.value.__cause__), caplog.text])
    for form in leaks():
        assert form not in everything, form
