"""Options every read/approval command shares (``-n``, ``-A``, ``-o``, ``--kubeconfig``,
``--context``, ``--server``, ``--config``), so each command declares them the same way and
``kubectl ferryman`` feels like ``kubectl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

OUTPUTS = ("table", "json", "yaml")


def kube(*, all_namespaces: bool = False, output: bool = True) -> Callable[[F], F]:
    """Add the kubeconfig options (and ``-A``/``-o`` where they make sense)."""

    def decorate(func: F) -> F:
        decorated = click.option(
            "--context", default=None, help="Kubeconfig context (default: current-context)."
        )(func)
        decorated = click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            default=None,
            envvar="KUBECONFIG",
            help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
        )(decorated)
        decorated = click.option(
            "-n", "--namespace", default=None, help="Namespace (default: the context's)."
        )(decorated)
        if all_namespaces:
            decorated = click.option(
                "-A", "--all-namespaces", is_flag=True, help="List across all namespaces."
            )(decorated)
        if output:
            decorated = click.option(
                "-o",
                "--output",
                type=click.Choice(OUTPUTS),
                default="table",
                show_default=True,
                help="Output format.",
            )(decorated)
        return decorated

    return decorate


def server(func: F) -> F:
    """Add ``--server`` (also ``FERRYMAN_SERVER``) and ``--config`` (see ``cli.servers``)."""
    decorated = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        default=None,
        help="CLI config file naming the server (default: ~/.config/ferryman/config.yaml; "
        "never a file in the current directory).",
    )(func)
    return click.option(
        "--server",
        default=None,
        envvar="FERRYMAN_SERVER",
        help="Ferryman server URL, https:// (http:// only for this machine). Default: "
        "$FERRYMAN_SERVER, then --config, then ~/.config/ferryman/config.yaml.",
    )(decorated)
