"""``ferryman get pipelines``, ``describe pipeline NAME``, ``history NAME`` and ``why NAME``.

All four read Pipelines from the Kubernetes API (``client.PipelineReader``) and print them with
``render``; none needs the Ferryman server.
"""

from __future__ import annotations

from typing import Any

import click
import pydantic

from ferryman.api import pipeline
from ferryman.cli import client, options, render
from ferryman.domain import controls


def _parse(obj: dict[str, Any]) -> pipeline.Pipeline:
    try:
        return pipeline.Pipeline.from_wire(obj)
    except pydantic.ValidationError as exc:
        meta = obj.get("metadata") or {}
        raise click.ClickException(
            f'pipeline "{meta.get("namespace")}/{meta.get("name")}" is not a valid Pipeline '
            f"({exc.error_count()} problem(s); see its Stalled condition)"
        ) from exc


def _kube(kubeconfig: str | None, context: str | None) -> client.KubeOptions:
    return client.KubeOptions(kubeconfig=kubeconfig, context=context)


def fetch(
    name: str, namespace: str | None, kubeconfig: str | None, context: str | None
) -> tuple[dict[str, Any], pipeline.Pipeline]:
    """One Pipeline as stored and parsed, or a sentence saying it does not exist."""
    backends = client.backends()
    kube = _kube(kubeconfig, context)
    namespace = namespace or backends.namespace(kube)
    obj = backends.reader(kube).get(namespace, name)
    if obj is None:
        raise click.ClickException(f'pipeline "{name}" not found in namespace "{namespace}"')
    return obj, _parse(obj)


def _emit(document: Any, output: str) -> bool:
    if output == "json":
        click.echo(render.as_json(document))
        return True
    if output == "yaml":
        click.echo(render.as_yaml(document))
        return True
    return False


@click.group()
def get() -> None:
    """Display Ferryman resources."""


@get.command(name="pipelines")
@options.kube(all_namespaces=True)
def get_pipelines(
    namespace: str | None,
    all_namespaces: bool,
    output: str,
    kubeconfig: str | None,
    context: str | None,
) -> None:
    """List Pipelines: what each environment runs, how promotions stand, what is pending."""
    backends = client.backends()
    kube = _kube(kubeconfig, context)
    where = None if all_namespaces else (namespace or backends.namespace(kube))
    objs = backends.reader(kube).list(where)
    if _emit({"apiVersion": "v1", "kind": "List", "items": objs}, output):
        return
    if not objs:
        scope = "any namespace" if where is None else f'namespace "{where}"'
        click.echo(controls.printable(f"No pipelines found in {scope}."))
        return
    click.echo(render.pipelines_table([_parse(o) for o in objs], all_namespaces=where is None))


@click.group()
def describe() -> None:
    """Show details of a Ferryman resource."""


@describe.command(name="pipeline")
@click.argument("name")
@options.kube(output=False)
def describe_pipeline(
    name: str, namespace: str | None, kubeconfig: str | None, context: str | None
) -> None:
    """Environments, targets, promotions, approvals and gates of one Pipeline."""
    _, parsed = fetch(name, namespace, kubeconfig, context)
    click.echo(render.describe(parsed))


@click.command()
@click.argument("name")
@click.option(
    "--from-git",
    is_flag=True,
    help="The whole trail, read from the promotion commits' trailers in the Pipeline's "
    "repositories (status keeps the newest 20).",
)
@click.option(
    "--page", type=click.IntRange(1, 1000), default=1, show_default=True, help="With --from-git."
)
@options.kube()
def history(
    name: str,
    from_git: bool,
    page: int,
    namespace: str | None,
    output: str,
    kubeconfig: str | None,
    context: str | None,
) -> None:
    """Finished promotions of a Pipeline, newest first."""
    obj, parsed = fetch(name, namespace, kubeconfig, context)
    if from_git:
        from ferryman.cli import trail  # git and the adapters only for this flag

        view = trail.run(parsed, _kube(kubeconfig, context), number=page)
        if not _emit(trail.as_document(view), output):
            click.echo(trail.text(name, view))
        return
    if _emit((obj.get("status") or {}).get("history", []), output):
        return
    if not parsed.status.history:
        click.echo(controls.printable(f'Pipeline "{name}" has no finished promotions yet.'))
        return
    click.echo(render.history_table(parsed))


@click.command()
@click.argument("name")
@click.option("--env", "environment", default=None, help="Only this environment.")
@options.kube(output=False)
def why(
    name: str,
    environment: str | None,
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
) -> None:
    """Explain, in words, what holds each environment's promotion back."""
    _, parsed = fetch(name, namespace, kubeconfig, context)
    if environment is not None and parsed.spec.environment(environment) is None:
        known = ", ".join(env.name for env in parsed.spec.environments)
        raise click.ClickException(
            f'pipeline "{name}" has no environment "{environment}" (it has {known})'
        )
    click.echo(render.why(parsed, environment))
