"""``ferryman apiserver``: run the embedded Kubernetes-compatible API server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ferryman.embedded.apiserver import oidc


@click.command()
@click.option(
    "--data", "data_dir", required=True, type=click.Path(file_okay=False), help="State directory."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6443, show_default=True, type=int, help="0 picks a free port.")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--enable-fault-injection", is_flag=True, help="Serve the test-only /debug API.")
@click.option(
    "--oidc-issuer-url",
    default=None,
    help="Accept ID tokens of this OpenID issuer (https; http only on loopback), as "
    "kube-apiserver's flag.",
)
@click.option("--oidc-client-id", default=None, help="The audience ID tokens must name.")
@click.option(
    "--oidc-username-claim", default="sub", show_default=True, help="Claim holding the user name."
)
@click.option(
    "--oidc-username-prefix",
    default=None,
    help="Prefix of user names; default: the issuer URL and '#' unless the claim is 'email'; "
    "'-' for none.",
)
@click.option("--oidc-groups-claim", default="", help="Claim holding the groups.")
@click.option("--oidc-groups-prefix", default="", help="Prefix of every group.")
@click.option(
    "--oidc-ca-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="PEM CA certificates for the issuer (default: the system's roots).",
)
@click.option(
    "--oidc-signing-algs",
    default="RS256",
    show_default=True,
    help="Comma-separated JOSE algorithms ID tokens may be signed with.",
)
def apiserver(
    data_dir: str,
    host: str,
    port: int,
    token_file: str | None,
    enable_fault_injection: bool,
    **oidc_flags: str | None,
) -> None:
    """Serve a Kubernetes-compatible API backed by SQLite (for the no-cluster mode and tests)."""
    from ferryman.embedded.apiserver import server  # heavy imports only for this command

    try:
        instance = server.EmbeddedApiServer(
            server.ServerConfig(
                data_dir=Path(data_dir),
                host=host,
                port=port,
                token_file=Path(token_file) if token_file else None,
                fault_injection=enable_fault_injection,
                oidc=oidc_options(**oidc_flags),
            )
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"ferryman apiserver listening on {instance.url} (kubeconfig: {instance.kubeconfig_path})",
        nl=True,
    )
    instance.run()


def oidc_options(**flags: str | None) -> oidc.Options | None:
    """The ``--oidc-*`` flags as ``oidc.Options`` (``None`` when none names an issuer or client);
    one given without the other is refused when the server starts, as kube-apiserver does."""
    from ferryman.embedded.apiserver import oidc

    issuer, client = flags.get("oidc_issuer_url") or "", flags.get("oidc_client_id") or ""
    if not issuer and not client:
        return None
    ca = flags.get("oidc_ca_file")
    algs = flags.get("oidc_signing_algs") or "RS256"
    return oidc.Options(
        issuer_url=issuer,
        client_id=client,
        username_claim=flags.get("oidc_username_claim") or "sub",
        username_prefix=flags.get("oidc_username_prefix"),
        groups_claim=flags.get("oidc_groups_claim") or "",
        groups_prefix=flags.get("oidc_groups_prefix") or "",
        ca_file=Path(ca) if ca else None,
        signing_algs=tuple(alg.strip() for alg in algs.split(",") if alg.strip()),
    )
