"""The ``ferryman`` command: one click group, one module per command family.

Subcommands import their heavy dependencies lazily so ``ferryman version`` and ``ferryman crd``
start fast and work without a cluster.
"""

from __future__ import annotations

from typing import Any

import click

import ferryman
from ferryman.cli import apiserver as apiserver_cmd
from ferryman.cli import controller as controller_cmd
from ferryman.cli import crd as crd_cmd
from ferryman.cli import demo as demo_cmd
from ferryman.cli import operate as operate_cmd
from ferryman.cli import options
from ferryman.cli import show as show_cmd
from ferryman.cli import up as up_cmd
from ferryman.cli import verdicts as verdicts_cmd
from ferryman.domain import controls


def _escape(exc: click.ClickException) -> None:
    """Escape the control characters of ``exc``'s message in place (keeping its class, exit code
    and usage hint, which a new exception would lose)."""
    # click annotates ``message`` Final, yet sets it per instance in __init__; so do we, once.
    exc.message = controls.printable(exc.message)  # type: ignore[misc]


class _Group(click.Group):
    """The root group: every error message reaches the terminal with its control characters
    escaped, whatever raised it (a server's or the API's message, an option value)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            _escape(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            _escape(exc)
            raise


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kubeconfig", default=None, help="Kubeconfig file, for every subcommand.")
@click.option("--context", default=None, help="Kubeconfig context, for every subcommand.")
@click.option("-n", "--namespace", default=None, help="Namespace, for every subcommand.")
@click.option("--server", default=None, help="Ferryman server URL, for every subcommand.")
@click.option("--config", default=None, help="CLI config file naming the server.")
@click.pass_context
def cli(
    ctx: click.Context,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    server: str | None,
    config: str | None,
) -> None:
    """Ferryman: GitOps promotion pipelines with all state in the Pipeline's status."""
    options.remember(
        ctx,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        server=server,
        config=config,
    )


@cli.command()
def version() -> None:
    """Print Ferryman's version."""
    click.echo(f"ferryman {ferryman.__version__}")


cli.add_command(crd_cmd.crd)
cli.add_command(apiserver_cmd.apiserver)
cli.add_command(controller_cmd.controller)
cli.add_command(show_cmd.get)
cli.add_command(show_cmd.describe)
cli.add_command(show_cmd.history)
cli.add_command(show_cmd.why)
cli.add_command(verdicts_cmd.approve)
cli.add_command(verdicts_cmd.reject)
for command in (
    operate_cmd.hold,
    operate_cmd.unhold,
    operate_cmd.promote,
    operate_cmd.rollback,
    operate_cmd.verify,
    operate_cmd.diff,
):
    cli.add_command(command)
cli.add_command(up_cmd.up)
cli.add_command(demo_cmd.demo)


def main() -> None:
    """Entry point of the ``ferryman`` and ``kubectl-ferryman`` scripts."""
    cli(prog_name="ferryman")
