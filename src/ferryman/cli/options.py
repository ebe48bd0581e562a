"""Options every read/approval command shares (``-n``, ``-A``, ``-o``, ``--kubeconfig``,
``--context``, ``--server``, ``--config``), so each command declares them the same way and
``kubectl ferryman`` feels like ``kubectl``.

As with kubectl, ``--kubeconfig``, ``--context``, ``-n``, ``--server`` and ``--config`` may also
come before the subcommand (``ferryman --kubeconfig k describe pipeline p``): the root command
keeps them in ``GLOBALS`` of the click context's shared ``meta``, and each subcommand option takes
them when it was not given itself — a flag wins over ``$KUBECONFIG``/``$FERRYMAN_SERVER``, as in
kubectl.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

OUTPUTS = ("table", "json", "yaml")
GLOBALS = "ferryman.globals"
_FROM_COMMAND_LINE = frozenset({click.core.ParameterSource.COMMANDLINE})


def inherit(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """The subcommand's own value, else the one given before the subcommand, else env/default."""
    if param.name is None or ctx.get_parameter_source(param.name) in _FROM_COMMAND_LINE:
        return value
    given: dict[str, object] = ctx.meta.get(GLOBALS, {})
    return given.get(param.name, value)


def remember(ctx: click.Context, **given: object) -> None:
    """Keep the flags given before the subcommand for its options (``inherit``)."""
    ctx.meta[GLOBALS] = {name: value for name, value in given.items() if value is not None}


def kube(*, all_namespaces: bool = False, output: bool = True) -> Callable[[F], F]:
    """Add the kubeconfig options (and ``-A``/``-o`` where they make sense)."""

    def decorate(func: F) -> F:
        decorated = click.option(
            "--context",
            default=None,
            callback=inherit,
            help="Kubeconfig context (default: current-context).",
        )(func)
        decorated = click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            default=None,
            envvar="KUBECONFIG",
            callback=inherit,
            help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
        )(decorated)
        decorated = click.option(
            "-n",
            "--namespace",
            default=None,
            callback=inherit,
            help="Namespace (default: the context's).",
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
        callback=inherit,
        help="CLI config file naming the server (default: ~/.config/ferryman/config.yaml; "
        "never a file in the current directory).",
    )(func)
    return click.option(
        "--server",
        default=None,
        envvar="FERRYMAN_SERVER",
        callback=inherit,
        help="Ferryman server URL, https:// (http:// only for this machine). Default: "
        "$FERRYMAN_SERVER, then --config, then ~/.config/ferryman/config.yaml.",
    )(decorated)
