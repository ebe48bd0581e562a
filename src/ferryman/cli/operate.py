"""``ferryman hold|unhold|promote|rollback|verify|diff NAME --env E``: operate releases, through
the server's operator API (the same authentication, RBAC and write path as approvals).

``promote --revision R`` pins the environment at R (a revision its source or itself ran, unless
``--force``); ``rollback`` pins it at the revision it ran before; both go through the
environment's approval gate and windows, then hold it there until ``unhold``. ``verify`` runs
the environment's checks of the revision it runs again (RBAC verb ``verify``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ferryman.cli import client, options, render, servers

_DONE = {
    "hold": "held",
    "unhold": "released",
    "promote": "pinned",
    "rollback": "rolled back",
}


def _call(
    action: str,
    name: str,
    *,
    environment: str,
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    server: str | None,
    config: str | None,
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    backends = client.backends()
    kube = client.KubeOptions(kubeconfig=kubeconfig, context=context)
    namespace = namespace or backends.namespace(kube)
    api = backends.approvals(servers.server_url(server, config_file=config), kube)
    path = client.environment_path(namespace, name, environment, action)
    return api.send("POST" if body is not None else "GET", path, body)


def _summary(action: str, name: str, environment: str, answer: dict[str, Any]) -> str:
    if action == "verify":
        found = answer.get("verification") or {}
        return (
            f'checks of {found.get("revision", "?")} in environment "{environment}" of pipeline '
            f'"{name}" run again (run {found.get("run", "?")}).'
        )
    hold = answer.get("hold") or {}
    at = (
        f" at {hold['revision']}"
        if action in ("promote", "rollback") and "revision" in hold
        else ""
    )
    sentence = f'environment "{environment}" of pipeline "{name}" {_DONE[action]}{at}.'
    return render.join_lines([sentence])


def _emit(answer: dict[str, Any], output: str, sentence: Callable[[], str]) -> None:
    if output == "json":
        click.echo(render.as_json(answer))
    elif output == "yaml":
        click.echo(render.as_yaml(answer))
    else:
        click.echo(sentence())


def _action(action: str, summary: str, *, revision: bool = False) -> click.Command:
    @click.command(name=action, help=summary)
    @click.argument("name")
    @click.option("--env", "environment", required=True, help="The environment.")
    @click.option("--comment", default="", help="Why; recorded in status, history and an Event.")
    @options.kube()
    @options.server
    def command(name: str, environment: str, comment: str, **flags: Any) -> None:
        body: dict[str, Any] = {"comment": comment}
        if revision:
            body["revision"] = flags.pop("revision")
            if flags.pop("force"):
                body["force"] = True
        output = flags.pop("output")
        answer = _call(action, name, environment=environment, body=body, **flags)
        _emit(answer, output, lambda: _summary(action, name, environment, answer))

    if revision:
        command = click.option(
            "--force", is_flag=True, help="Allow a revision neither environment ran (RBAC: force)."
        )(command)
        command = click.option("--revision", required=True, help="The revision to promote.")(
            command
        )
    return command


hold = _action("hold", "Stop promotions into an environment until unhold.")
unhold = _action("unhold", "Release an environment from a hold, a pin or a rollback.")
promote = _action(
    "promote",
    "Promote a chosen revision into an environment now, then hold it there.",
    revision=True,
)
rollback = _action(
    "rollback", "Put an environment back on the revision it ran before, and hold it."
)
verify = _action(
    "verify", "Run an environment's verification checks of the revision it runs again."
)


@click.command(name="diff")
@click.argument("name")
@click.option("--env", "environment", required=True, help="The environment.")
@options.kube()
@options.server
def diff(name: str, environment: str, output: str, **flags: Any) -> None:
    """Show the change waiting for approval in an environment (the marked values it sets)."""
    answer = _call("diff", name, environment=environment, body=None, **flags)
    _emit(answer, output, lambda: render.change(name, answer))
