"""Issue 16, item 5: text from a Pipeline must not drive the CLI user's terminal.

The review stored ESC/OSC sequences and carriage returns in an approval comment, a Ready message
and a revision; ``ferryman describe`` printed them raw and ``ferryman get`` printed a revision's
raw newline, forging a row. Events carried the comment verbatim. Here the hostile Pipeline lives in
a real embedded API server, the real CLI reads it, and an approval with a hostile comment goes
through the real server to a real Event.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.kube import Kube
from tests.security import demo, servers

from ferryman.embedded.apiserver import testing

# Clear the screen, set the window title, hide a link behind innocent text, overwrite the line.
COMMENT = "ok\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example\x1b\\docs\x1b]8;;\x1b\\\rFAKE"
MESSAGE = "fine\x1b[31m red \x9b2K\u202etxt.exe"
REVISION = "6.1.0\nprod   HelmRelease/evil   9.9.9"
# What no terminal output may hold: any control character but the line breaks the CLI writes.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with the review's strings in a comment, a Ready message and a revision."""
    hostile = copy.deepcopy(obj)
    status = hostile["status"]
    status["conditions"] = [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Waiting",
            "message": MESSAGE,
            "lastTransitionTime": servers.AT,
        }
    ]
    status["environments"]["staging"]["revision"] = REVISION
    status["history"] = [
        {"environment": "staging", "revision": REVISION, "phase": "Succeeded", "at": servers.AT}
    ]
    return hostile


async def approve(url: str, token: str, comment: str) -> httpx.Response:
    """POST an approval of prod's 6.2.0 to the server at ``url``."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return await http.post(
            "/api/v1/namespaces/default/pipelines/podinfo/environments/prod/approve",
            json={"revision": "6.2.0", "comment": comment},
            headers={"Authorization": f"Bearer {token}"},
        )


async def arrange(kube: Kube, obj: dict[str, Any]) -> None:
    """The CRD, the approvers' RBAC, and ``obj`` with its status."""
    await kube.apply_file(servers.CRD)
    for rbac in servers.APPROVER_RBAC:
        await kube.create(rbac, exist_ok=True)
    status = obj.pop("status")
    created = await kube.create(obj)
    created["status"] = status
    await kube.put_status(created)


@pytest.mark.parametrize(
    "command",
    [
        ("describe", "pipeline", "podinfo"),
        ("get", "pipelines"),
        ("get", "pipelines", "-o", "yaml"),
        ("get", "pipelines", "-o", "json"),
        ("history", "podinfo"),
        ("why", "podinfo"),
    ],
    ids=["describe", "get", "get-yaml", "get-json", "history", "why"],
)
async def test_item5_cli_output_holds_no_control_character(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Every command prints the hostile values escaped: no ESC, OSC, CR or forged line."""
    with testing.serve(tmp_path / "api") as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube, hostile(servers.waiting_pipeline(comment=COMMENT)))
        finally:
            await kube.close()
        done = demo.run_cli(*command, "--kubeconfig", str(api.kubeconfig_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert RAW.findall(done.stdout + done.stderr) == []
    assert not any(line.startswith("prod   HelmRelease/evil") for line in done.stdout.splitlines())
    if command[0] == "describe":
        assert "\\x1b]0;pwned\\x07" in done.stdout  # shown, inert
        assert "\\x9b2K\\u202etxt.exe" in done.stdout


async def test_item5_error_messages_are_escaped_too(tmp_path: Path) -> None:
    """A name the user typed (or a server's message) echoed in an error is escaped as well."""
    with testing.serve(tmp_path / "api") as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await kube.apply_file(servers.CRD)
        finally:
            await kube.close()
        done = demo.run_cli(
            "describe", "pipeline", "x\x1b]0;pwned\x07", "--kubeconfig", str(api.kubeconfig_path),
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1
    assert RAW.findall(done.stderr) == [] and "\\x1b]0;pwned\\x07" in done.stderr


async def test_item5_event_strips_control_characters_and_status_keeps_the_comment(
    tmp_path: Path,
) -> None:
    """An approval whose comment holds ESC/OSC and CR: the Event's note has none of them, the
    status keeps the comment byte for byte (it is escaped wherever it is shown)."""
    tokens = servers.token_file(
        tmp_path / "tokens.csv", {"alice": ("alice-tok", "release-managers")}
    )
    with testing.serve(tmp_path / "api", token_file=tokens) as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube, servers.waiting_pipeline())
            async with servers.replica(api.kubeconfig_path) as url:
                answer = await approve(url, "alice-tok", COMMENT)
            assert answer.status_code == 202, answer.text
            stored = await kube.get(
                "pipelines.weave.works/v1alpha1", "Pipeline", "default", "podinfo"
            )
            events = await kube.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
        finally:
            await kube.close()
    comments = [
        a["comment"] for a in stored["status"]["environments"]["prod"]["promotion"]["approvals"]
    ]
    assert comments == [COMMENT]
    notes = [e.get("note", "") for e in events["items"] if e.get("reason") == "ApprovalRecorded"]
    assert len(notes) == 1
    assert RAW.findall(notes[0]) == [] and "\n" not in notes[0]
    assert notes[0].startswith("Approved by alice: ok")
