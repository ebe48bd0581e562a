"""``ferryman approve NAME --env E`` and ``ferryman reject NAME --env E``: through the server's API.

The revision defaults to the one the environment waits for (read from the Kubernetes API), so the
common case is one short command; naming it explicitly guards against approving a revision that
replaced the one you reviewed (the server then answers 409).
"""

from __future__ import annotations

import click

from ferryman.api import status
from ferryman.cli import client, options, render, servers, show
from ferryman.domain import controls


def _waiting_revision(parsed_status: status.PipelineStatus, name: str, environment: str) -> str:
    env = parsed_status.environments.get(environment)
    record = env.promotion if env is not None else None
    if record is None or record.phase is not status.PromotionPhase.WAITING_APPROVAL:
        raise click.ClickException(
            f'environment "{environment}" of pipeline "{name}" is not waiting for approval'
            " (pass --revision to decide anyway)"
        )
    return record.revision


def _decide(
    verb: str,
    name: str,
    *,
    environment: str,
    revision: str | None,
    comment: str,
    namespace: str | None,
    output: str,
    kubeconfig: str | None,
    context: str | None,
    server: str | None,
    config: str | None,
) -> None:
    backends = client.backends()
    kube = client.KubeOptions(kubeconfig=kubeconfig, context=context)
    namespace = namespace or backends.namespace(kube)
    if revision is None:
        _, parsed = show.fetch(name, namespace, kubeconfig, context)
        if parsed.spec.environment(environment) is None:
            raise click.ClickException(f'pipeline "{name}" has no environment "{environment}"')
        revision = _waiting_revision(parsed.status, name, environment)
    url = servers.server_url(server, config_file=config)
    record = backends.approvals(url, kube).decide(
        verb,
        namespace=namespace,
        name=name,
        environment=environment,
        revision=revision,
        comment=comment,
    )
    if output == "json":
        click.echo(render.as_json(record))
    elif output == "yaml":
        click.echo(render.as_yaml(record))
    else:
        done = "approved" if verb == "approve" else "rejected"
        phase = record.get("phase", "")
        line = f'{revision} {done} for "{environment}" of pipeline "{name}" (phase {phase}).'
        click.echo(controls.printable(line))


def _command(verb: str, summary: str) -> click.Command:
    @click.command(name=verb, help=summary)
    @click.argument("name")
    @click.option("--env", "environment", required=True, help="The environment to decide for.")
    @click.option("--revision", default=None, help="Revision (default: the one waiting).")
    @click.option("--comment", default="", help="Why; recorded in status and in an Event.")
    @options.kube()
    @options.server
    def command(
        name: str,
        environment: str,
        revision: str | None,
        comment: str,
        namespace: str | None,
        output: str,
        kubeconfig: str | None,
        context: str | None,
        server: str | None,
        config: str | None,
    ) -> None:
        _decide(
            verb,
            name,
            environment=environment,
            revision=revision,
            comment=comment,
            namespace=namespace,
            output=output,
            kubeconfig=kubeconfig,
            context=context,
            server=server,
            config=config,
        )

    return command


approve = _command("approve", "Approve the promotion waiting in an environment.")
reject = _command("reject", "Reject the promotion waiting in an environment (ends it).")
