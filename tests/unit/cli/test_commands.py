"""The ``ferryman`` read and approval commands through click's CliRunner, over injected backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import yaml
from click.testing import CliRunner
from tests.unit.controller import story
from tests.unit.server import harness

from ferryman.cli import client, servers
from ferryman.cli.main import cli


class Reader:
    """``PipelineReader`` over the harness's fake cluster."""

    def __init__(self, objs: list[dict[str, Any]]) -> None:
        self.objs = objs
        self.asked: list[str | None] = []

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        self.asked.append(namespace)
        return [
            o for o in self.objs if namespace is None or o["metadata"]["namespace"] == namespace
        ]

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next(
            (
                o
                for o in self.objs
                if (o["metadata"]["namespace"], o["metadata"]["name"]) == (namespace, name)
            ),
            None,
        )


async def waiting_pipeline() -> dict[str, Any]:
    """The story's pipeline with prod waiting for approval of 6.1.0."""
    h = harness.Harness()
    await h.waiting()
    return h.world.pipeline()


def run(args: list[str], backends: client.Backends) -> Any:
    """Invoke the CLI with ``backends``."""
    return CliRunner().invoke(cli, args, obj=backends, catch_exceptions=False)


def backends_for(objs: list[dict[str, Any]], handler: Any = None) -> client.Backends:
    """Backends reading ``objs`` and posting decisions to ``handler`` (an httpx MockTransport)."""
    reader = Reader(objs)
    transport = httpx.MockTransport(handler or (lambda request: httpx.Response(500)))
    return client.Backends(
        reader=lambda options: reader,
        approvals=lambda url, options: client.ApprovalClient(url, "tok-123", transport=transport),
        namespace=lambda options: "default",
    )


async def test_get_pipelines_shows_each_environment_and_pending() -> None:
    """The table has NAME, APP, one column per environment and PENDING."""
    obj = await waiting_pipeline()
    result = run(["get", "pipelines"], backends_for([obj]))
    assert result.exit_code == 0
    header, row = result.output.splitlines()
    assert header.split() == ["NAME", "APP", "DEV", "STAGING", "PROD", "PENDING"]
    assert row.startswith("podinfo") and "HelmRelease/podinfo" in row
    assert "6.0.0 (6.1.0 waiting for approval)" in row
    assert "prod: waiting for 1 more approval of 6.1.0" in row


async def test_get_pipelines_all_namespaces_and_formats() -> None:
    """-A adds NAMESPACE and lists everywhere; -o json/yaml print the objects."""
    obj = await waiting_pipeline()
    backends = backends_for([obj])
    result = run(["get", "pipelines", "-A"], backends)
    assert result.output.split()[0] == "NAMESPACE"
    as_json = json.loads(run(["get", "pipelines", "-o", "json"], backends).output)
    assert as_json["items"][0]["metadata"]["name"] == "podinfo"
    as_yaml = yaml.safe_load(run(["get", "pipelines", "-o", "yaml"], backends).output)
    assert as_yaml["items"][0]["spec"]["appRef"]["kind"] == "HelmRelease"
    empty = run(["get", "pipelines", "-n", "elsewhere"], backends)
    assert empty.output.strip() == 'No pipelines found in namespace "elsewhere".'


async def test_describe_history_and_why() -> None:
    """describe lists environments, targets, promotion and gates; why explains the approval."""
    obj = await waiting_pipeline()
    backends = backends_for([obj])
    described = run(["describe", "pipeline", "podinfo"], backends).output
    assert "Environments:" in described and "Target:     prod: 6.0.0 healthy" in described
    assert "Promotion:  6.1.0 from staging: Waiting for approval" in described
    assert "1 approval(s) from group release-managers" in described
    history = run(["history", "podinfo"], backends).output
    assert history.splitlines()[0].split() == [
        "ENVIRONMENT",
        "REVISION",
        "RESULT",
        "AT",
        "BY",
        "CHANGE",
        "COMMENT",
    ]
    assert history.splitlines()[1].split()[:3] == ["staging", "6.1.0", "Promoted"]
    why = run(["why", "podinfo", "--env", "prod"], backends).output
    assert why.startswith("prod: waiting for 1 more approval of 6.1.0 from group release-managers.")
    assert "ferryman approve podinfo -n default --env prod --revision 6.1.0" in why
    everything = run(["why", "podinfo"], backends).output
    assert everything.splitlines()[0].startswith("dev: nothing is held back")


async def test_why_names_a_suspended_target_and_nothing_is_promoted_into_it() -> None:
    """A target with ``spec.suspend: true`` holds its environment: no Promote, and ``why`` and
    PromotionPending say which object is suspended."""
    h = harness.Harness()
    staging = h.world.api.objects[
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "staging", "podinfo")
    ]
    staging["spec"]["suspend"] = True
    h.world.release("6.1.0")
    await harness.drive(h.world)
    assert h.world.promote_events() == {}
    why = run(["why", "podinfo", "--env", "staging"], backends_for([h.world.pipeline()])).output
    assert why == (
        "staging: HelmRelease staging/podinfo is suspended (spec.suspend), so "
        "6.1.0 waits until it is resumed.\n"
    )


async def test_approve_defaults_to_the_waiting_revision_and_sends_the_token() -> None:
    """approve posts {revision, comment} with the kubeconfig's bearer token to the API path."""
    obj = await waiting_pipeline()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"revision": "6.1.0", "phase": "Approved"})

    result = run(
        [
            "approve",
            "podinfo",
            "--env",
            "prod",
            "--comment",
            "ship it",
            "--server",
            "https://f:8080",
        ],
        backends_for([obj], handler),
    )
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip() == '6.1.0 approved for "prod" of pipeline "podinfo" (phase Approved).'
    )
    request = seen[0]
    assert (
        request.url.path == "/api/v1/namespaces/default/pipelines/podinfo/environments/prod/approve"
    )
    assert request.headers["authorization"] == "Bearer tok-123"
    assert json.loads(request.content) == {"revision": "6.1.0", "comment": "ship it"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["describe", "pipeline", "nope"],
            'Error: pipeline "nope" not found in namespace "default"',
        ),
        (["why", "podinfo", "--env", "qa"], 'Error: pipeline "podinfo" has no environment "qa"'),
        (
            ["approve", "podinfo", "--env", "staging", "--server", "https://f"],
            'Error: environment "staging" of pipeline "podinfo" is not waiting for approval',
        ),
        (
            ["approve", "podinfo", "--env", "prod", "--server", "https://f"],
            "Error: not on the list",
        ),
        (
            ["reject", "podinfo", "--env", "prod", "--revision", "1", "--server", "https://f"],
            "Error: not on the list",
        ),
    ],
    ids=["missing-pipeline", "unknown-env", "not-waiting", "server-403", "reject-403"],
)
async def test_user_errors_are_one_sentence_and_non_zero(args: list[str], message: str) -> None:
    """Mistakes end with one clear line on stderr and exit code 1, never a traceback."""
    obj = await waiting_pipeline()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"kind": "Status", "message": "not on the list"})

    result = run(args, backends_for([obj], handler))
    assert result.exit_code == 1
    assert result.output.strip().startswith(message)
    assert "Traceback" not in result.output


def test_server_url_comes_from_flag_then_named_file_then_user_config(tmp_path: Path) -> None:
    """--server wins; else a file named by --config; else $XDG_CONFIG_HOME/ferryman/config.yaml;
    never a file of the current directory."""
    xdg = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg)}
    user_file = servers.user_config_path(env)
    assert user_file == xdg / "ferryman" / "config.yaml"
    with pytest.raises(click.ClickException, match="no Ferryman server is configured"):
        servers.server_url(None, environ=env)
    user_file.parent.mkdir(parents=True)
    user_file.write_text("server: https://xdg.example/\n")
    assert servers.server_url(None, environ=env) == "https://xdg.example"
    named = tmp_path / "named.yaml"
    named.write_text("server: http://127.0.0.1:8080\n")
    assert servers.server_url(None, config_file=str(named), environ=env) == "http://127.0.0.1:8080"
    assert servers.server_url("https://flag", config_file=str(named)) == "https://flag"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://ferryman.example.com", True),
        ("https://10.0.0.1:8443/prefix", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.1.2.3", True),
        ("http://[::1]:8080", True),
        ("http://localhost:8080", True),
        ("http://ferryman.example.com", False),
        ("http://10.0.0.1:8080", False),
        ("http://127.0.0.1.nip.io", False),
        ("ftp://127.0.0.1", False),
        ("ferryman.example.com", False),
    ],
)
def test_tokens_travel_over_https_or_to_loopback_only(url: str, allowed: bool) -> None:
    """Plain http:// is refused unless the host is this machine."""
    if allowed:
        assert servers.check_transport(url) == url
    else:
        with pytest.raises(click.ClickException):
            servers.check_transport(url)


def test_bearer_token_from_token_file_and_exec_plugin(tmp_path: Path) -> None:
    """Tokens come from the kubeconfig user: inline, tokenFile, or an exec plugin's output."""
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(
        '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1",'
        '"kind":"ExecCredential","status":{"token":"from-exec"}}\'\n'
    )
    plugin.chmod(0o755)
    users = {
        "inline": {"token": "inline-token"},
        "file": {"tokenFile": str(token_file)},
        "exec": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}},
        "certs": {"client-certificate-data": "eA==", "client-key-data": "eA=="},
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": n}} for n in users],
        "current-context": "inline",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))

    def token(context: str) -> str:
        return client.bearer_token(client.load_kubeconfig(client.KubeOptions(str(path), context)))

    assert token("inline") == "inline-token"
    assert token("file") == "from-file"
    assert token("exec") == "from-exec"
    with pytest.raises(click.ClickException, match="client certificates cannot be forwarded"):
        token("certs")
    with pytest.raises(click.ClickException, match="Context 'missing' not found"):
        token("missing")


def test_unreadable_kubeconfig_is_one_sentence(tmp_path: Path) -> None:
    """A kubeconfig that does not exist is reported, not raised."""
    result = CliRunner().invoke(
        cli, ["get", "pipelines", "--kubeconfig", str(tmp_path / "none")], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot read ")


def recorder(answer: dict[str, Any], code: int = 202) -> tuple[list[httpx.Request], Any]:
    """A handler that records requests and answers ``answer``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(code, json=answer)

    return seen, handler


PREFIX = "/api/v1/namespaces/default/pipelines/podinfo/environments/prod"


@pytest.mark.parametrize(
    ("args", "path", "body", "output"),
    [
        (
            ["hold", "podinfo", "--env", "prod", "--comment", "incident 42"],
            f"{PREFIX}/hold",
            {"comment": "incident 42"},
            'environment "prod" of pipeline "podinfo" held.',
        ),
        (
            ["unhold", "podinfo", "--env", "prod"],
            f"{PREFIX}/unhold",
            {"comment": ""},
            'environment "prod" of pipeline "podinfo" released.',
        ),
        (
            ["promote", "podinfo", "--env", "prod", "--revision", "6.1.0", "--force"],
            f"{PREFIX}/promote",
            {"comment": "", "revision": "6.1.0", "force": True},
            'environment "prod" of pipeline "podinfo" pinned at 6.1.0.',
        ),
        (
            ["rollback", "podinfo", "--env", "prod", "--comment", "bad"],
            f"{PREFIX}/rollback",
            {"comment": "bad"},
            'environment "prod" of pipeline "podinfo" rolled back at 6.1.0.',
        ),
    ],
    ids=["hold", "unhold", "promote", "rollback"],
)
def test_operator_commands_post_to_the_operator_api(
    args: list[str], path: str, body: dict[str, Any], output: str
) -> None:
    """Each operator command posts its body with the bearer token and says what happened."""
    seen, handler = recorder({"environment": "prod", "hold": {"revision": "6.1.0"}})
    result = run([*args, "--server", "https://f:8080"], backends_for([], handler))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == output
    assert (seen[0].method, seen[0].url.path) == ("POST", path)
    assert seen[0].headers["authorization"] == "Bearer tok-123"
    assert json.loads(seen[0].content) == body


def test_diff_renders_the_change_as_a_table() -> None:
    """diff GETs …/diff and prints file, old and new value, with the digest."""
    answer = {
        "environment": "prod",
        "revision": "6.1.0",
        "phase": "WaitingApproval",
        "change": {
            "digest": "ab" * 32,
            "markers": 1,
            "lines": [{"path": "prod/podinfo.yaml", "old": "6.0.0", "new": "6.1.0"}],
        },
    }
    seen, handler = recorder(answer, code=200)
    result = run(
        ["diff", "podinfo", "--env", "prod", "--server", "https://f"], backends_for([], handler)
    )
    assert result.exit_code == 0, result.output
    assert seen[0].method == "GET" and seen[0].url.path == f"{PREFIX}/diff"
    lines = result.output.splitlines()
    assert (
        lines[0]
        == f'6.1.0 into "prod" of pipeline "podinfo" (WaitingApproval), change digest {"ab" * 32}:'
    )
    assert lines[2].split() == ["prod/podinfo.yaml", "6.0.0", "6.1.0"]


def test_global_flags_before_the_subcommand_work_as_in_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ferryman --kubeconfig K -n N --server S hold …`` passes them on; a flag beats
    ``$KUBECONFIG``; the subcommand's own flag beats the global one."""
    monkeypatch.setenv("KUBECONFIG", "/from/the/environment")
    asked: list[client.KubeOptions] = []
    seen, handler = recorder({"environment": "prod"})
    transport = httpx.MockTransport(handler)

    def approvals(url: str, options: client.KubeOptions) -> client.ApprovalClient:
        asked.append(options)
        return client.ApprovalClient(url, "tok", transport=transport)

    backends = client.Backends(approvals=approvals, namespace=lambda options: "default")
    args = [
        "--kubeconfig",
        "k.yaml",
        "-n",
        "team-a",
        "--server",
        "https://s:1",
        "hold",
        "p",
        "--env",
        "prod",
    ]
    result = CliRunner().invoke(cli, args, obj=backends, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert asked[0].kubeconfig == "k.yaml"
    assert str(seen[0].url).startswith("https://s:1/api/v1/namespaces/team-a/pipelines/p/")
    own = ["--kubeconfig", "k.yaml", "hold", "p", "--env", "prod", "--kubeconfig", "mine.yaml"]
    result = CliRunner().invoke(cli, [*own, "--server", "https://s:1"], obj=backends)
    assert result.exit_code == 0, result.output
    assert asked[1].kubeconfig == "mine.yaml"


def test_verify_posts_to_the_operator_api_and_says_which_run_started() -> None:
    """``ferryman verify P --env E`` posts …/verify and names the revision and run."""
    seen, handler = recorder(
        {"environment": "staging", "verification": {"revision": "6.1.0", "run": 2}}
    )
    result = run(
        [
            "verify",
            "podinfo",
            "--env",
            "staging",
            "--comment",
            "flaky",
            "--server",
            "https://f:8080",
        ],
        backends_for([], handler),
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        'checks of 6.1.0 in environment "staging" of pipeline "podinfo" run again (run 2).'
    )
    assert seen[0].url.path == (
        "/api/v1/namespaces/default/pipelines/podinfo/environments/staging/verify"
    )
    assert json.loads(seen[0].content) == {"comment": "flaky"}


async def test_why_and_describe_show_a_failed_check_and_how_to_run_it_again() -> None:
    """A failed staging check: ``why`` names it for prod and for staging, with the command to
    run it again; ``describe`` lists each check with its value and message."""
    h = harness.Harness(staging_checks=[story.SMOKE_JOB, story.SMOKE_HOOK])
    await harness.drive(h.world)
    h.world.jobs.finish()
    h.world.clock.advance(10)
    await harness.drive(h.world)
    h.world.release("6.1.0")
    await harness.drive(h.world)
    h.world.jobs.finish(succeeded=False)
    h.world.clock.advance(10)
    await harness.drive(h.world)
    obj = h.world.pipeline()
    why = run(["why", "podinfo"], backends_for([obj])).output.splitlines()
    assert why[2] == (
        "prod: 6.1.0 failed smoke-test in staging: staging: BackoffLimitExceeded: Job has reached "
        "the specified backoff limit. To run staging's checks again: ferryman verify podinfo "
        "-n default --env staging"
    )
    assert why[1] == (
        "staging: nothing is held back (runs 6.1.0). Its checks of 6.1.0 failed (smoke-test: "
        "staging: BackoffLimitExceeded: Job has reached the specified backoff limit)."
    )
    described = run(["describe", "pipeline", "podinfo"], backends_for([obj])).output
    assert "    Checks:     6.1.0 run 1: Failed" in described
    assert "      smoke: Passed [204]: answered 204" in described
    h.world.release("6.2.0")
    await harness.drive(h.world)
    running = run(["why", "podinfo", "--env", "staging"], backends_for([h.world.pipeline()]))
    assert running.output.strip() == (
        "staging: nothing is held back (runs 6.2.0). Its checks of 6.2.0 are running (smoke-test)."
    )


async def test_history_stats_shows_the_figures_of_the_timeline_and_the_metrics() -> None:
    """``history --stats``: per finished promotion its lead time, approval wait and duration,
    medians per environment, the same in words; ``-o json`` gives seconds."""
    h = harness.Harness()
    await h.waiting()
    h.world.clock.advance(60)
    assert (await h.approve("alice-token")).status == 202
    await harness.drive(h.world)
    backends = backends_for([h.world.pipeline()])
    out = run(["history", "podinfo", "--stats"], backends).output
    lines = out.splitlines()
    assert lines[0].split() == [
        "ENVIRONMENT", "REVISION", "RESULT", "FINISHED", "LEAD", "TIME", "APPROVAL", "WAIT",
        "PROMOTION", "BY",
    ]  # fmt: skip
    assert lines[1].startswith("prod") and "alice" in lines[1]
    assert "Medians per environment:" in lines
    assert any(line.startswith("6.1.0 reached prod") for line in lines)
    figures = json.loads(run(["history", "podinfo", "--stats", "-o", "json"], backends).output)
    prod = figures["environments"]["prod"]
    assert prod["arrivals"] == 1 and prod["outcomes"] == {"Succeeded": 1}
    assert prod["medianApprovalWaitSeconds"] >= 60
    first = figures["promotions"][0]
    assert (first["environment"], first["result"]) == ("staging", "Succeeded")
    assert first["leadTimeSeconds"] is not None


def test_history_stats_of_a_pipeline_that_promoted_nothing() -> None:
    """A sentence, not an empty table."""
    obj = yaml.safe_load(
        """
apiVersion: pipelines.weave.works/v1alpha1
kind: Pipeline
metadata: {name: podinfo, namespace: default}
spec:
  appRef: {apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, name: podinfo}
  environments:
    - {name: dev, targets: [{namespace: dev}]}
    - {name: prod, targets: [{namespace: prod}]}
"""
    )
    out = run(["history", "podinfo", "--stats"], backends_for([obj])).output
    assert out.strip() == 'Pipeline "podinfo" has no finished promotions yet.'
