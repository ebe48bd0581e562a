"""How the CLI reaches the world: Pipelines from the Kubernetes API, decisions through the server.

Reads go straight to the Kubernetes API with the kubeconfig (as ``kubectl get`` would), so they
work without a Ferryman server and obey the same RBAC. Approvals and rejections go to the Ferryman
server's approval API with the kubeconfig user's bearer token (a static token, a token file, or
the token an exec plugin prints), because only the server records them with the checks the
domain defines.

Every failure a user can cause becomes a ``click.ClickException`` holding one sentence; the
transports are injectable (``Backends``) so tests drive the commands without a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib import parse

import click
import httpx
import httpx2
import lightkube
import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ApiError, ConfigError

from ferryman.adapters.kubernetes import resources, urls
from ferryman.ports import kubernetes as k8s

JSON = dict[str, Any]
EXEC_TIMEOUT = 60.0


@dataclass(frozen=True)
class KubeOptions:
    """Which kubeconfig and context to use (``None``: the usual lookup)."""

    kubeconfig: str | None = None
    context: str | None = None


def load_kubeconfig(options: KubeOptions) -> SingleConfig:
    """The selected context of the kubeconfig, or a one-sentence error."""
    try:
        config = (
            KubeConfig.from_file(options.kubeconfig)
            if options.kubeconfig
            else KubeConfig.from_env()
        )
        single = config.get(context_name=options.context)
    except (ConfigError, OSError, yaml.YAMLError, KeyError, ValueError, TypeError) as exc:
        where = options.kubeconfig or "the default kubeconfig"
        raise click.ClickException(f"cannot read {where}: {exc}") from exc
    if single is None:
        raise click.ClickException(
            f'the kubeconfig has no context "{options.context or "current-context"}"'
        )
    return single


def default_namespace(options: KubeOptions) -> str:
    """The namespace of the kubeconfig context, ``default`` when it names none."""
    return load_kubeconfig(options).namespace or "default"


def bearer_token(single: SingleConfig) -> str:
    """The bearer token the kubeconfig user authenticates with."""
    user = single.user
    if user is None:
        raise click.ClickException("the kubeconfig context has no user")
    if user.token:
        return user.token
    if user.token_file:
        try:
            return Path(single.abs_file(user.token_file)).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.ClickException(f"cannot read the token file {user.token_file}") from exc
    if user.exec is not None:
        return _exec_token(single)
    raise click.ClickException(
        "the kubeconfig user has no bearer token (a token, tokenFile or exec plugin); client "
        "certificates cannot be forwarded to the Ferryman server"
    )


def _exec_token(single: SingleConfig) -> str:
    plugin = single.user.exec if single.user is not None else None
    if plugin is None:
        raise click.ClickException("the kubeconfig user has no exec plugin")
    env = dict(os.environ)
    env.update({var.name: var.value for var in plugin.env or ()})
    command = [plugin.command, *(plugin.args or ())]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, timeout=EXEC_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise click.ClickException(f"the kubeconfig exec plugin {plugin.command} failed") from exc
    if done.returncode != 0:
        raise click.ClickException(
            f"the kubeconfig exec plugin {plugin.command} exited with {done.returncode}"
        )
    try:
        token = json.loads(done.stdout)["status"]["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(
            f"the kubeconfig exec plugin {plugin.command} printed no ExecCredential token"
        ) from exc
    if not isinstance(token, str) or not token:
        raise click.ClickException(f"the kubeconfig exec plugin {plugin.command} gave no token")
    return token


class PipelineReader(Protocol):
    """Reads Pipelines."""

    def list(self, namespace: str | None) -> list[JSON]:
        """Every Pipeline in ``namespace`` (``None``: all namespaces)."""
        ...

    def get(self, namespace: str, name: str) -> JSON | None:
        """One Pipeline, ``None`` when it does not exist."""
        ...


# k8s.NotFound: a name or namespace that no object can have (``urls.segment`` refuses it).
_FAILURES = (ApiError, httpx2.HTTPError, OSError, k8s.NotFound)


class KubePipelineReader:
    """``PipelineReader`` over lightkube's synchronous client."""

    def __init__(self, single: SingleConfig) -> None:
        self._server = single.cluster.server
        self._client = lightkube.Client(single, trust_env=False, timeout=httpx2.Timeout(30.0))

    def _failure(self, exc: Exception) -> click.ClickException:
        if isinstance(exc, k8s.NotFound):
            return click.ClickException("no pipeline can have that name or namespace")
        if isinstance(exc, ApiError):
            code = exc.status.code
            if code == 404:
                return click.ClickException(
                    "the Kubernetes API does not serve pipelines.weave.works/v1alpha1 Pipelines "
                    "(install the CRD with `ferryman crd | kubectl apply -f -`)"
                )
            if code in (401, 403):
                return click.ClickException(f"the Kubernetes API refused: {exc.status.message}")
            return click.ClickException(f"the Kubernetes API answered {code}: {exc.status.message}")
        return click.ClickException(f"cannot reach the Kubernetes API at {self._server}")

    def list(self, namespace: str | None) -> list[JSON]:
        try:
            found = self._client.list(
                resources.PIPELINE,
                namespace=urls.segment(namespace) if namespace else lightkube.ALL_NS,
            )
            return [dict(item.to_dict()) for item in found]
        except _FAILURES as exc:
            raise self._failure(exc) from exc

    def get(self, namespace: str, name: str) -> JSON | None:
        try:
            found = self._client.get(
                resources.PIPELINE, urls.segment(name), namespace=urls.segment(namespace)
            )
            return dict(found.to_dict())
        except ApiError as exc:
            # A missing object names itself; a missing CRD answers "could not find the resource".
            if exc.status.code == 404 and f'"{name}"' in (exc.status.message or ""):
                return None
            raise self._failure(exc) from exc
        except _FAILURES as exc:
            raise self._failure(exc) from exc


class ApprovalClient:
    """Posts decisions to the Ferryman server's approval API."""

    def __init__(
        self, base_url: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._base = base_url
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=30,
            trust_env=False,
        )

    def decide(
        self, verb: str, *, namespace: str, name: str, environment: str, revision: str, comment: str
    ) -> JSON:
        """POST approve/reject; the promotion record on 202, else a one-sentence error."""
        path = environment_path(namespace, name, environment, verb)
        return self.send("POST", path, {"revision": revision, "comment": comment})

    def send(self, method: str, path: str, body: JSON | None = None) -> JSON:
        """One request to the server's API: the JSON answer on 2xx, else a one-sentence error."""
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the Ferryman server at {self._base}") from exc
        finally:
            self._http.close()
        answer: Any
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict):
            return answer
        message = answer.get("message") if isinstance(answer, dict) else None
        if not isinstance(message, str) or not message:
            message = f"the Ferryman server answered HTTP {response.status_code}"
        if response.status_code == 401:
            message = "the Ferryman server did not accept the kubeconfig's credentials"
        raise click.ClickException(message)


def environment_path(namespace: str, name: str, environment: str, action: str) -> str:
    """``/api/v1/namespaces/<ns>/pipelines/<name>/environments/<env>/<action>``, each segment
    quoted (a ``?`` or ``/`` in a value can never reach another route or object)."""
    segments = ("api", "v1", "namespaces", namespace, "pipelines", name, "environments")
    quoted = [parse.quote(part, safe="") for part in (*segments, environment, action)]
    return "/" + "/".join(quoted)


@dataclass
class Backends:
    """Factories the commands use; tests replace them (``CliRunner.invoke(..., obj=...)``)."""

    reader: Callable[[KubeOptions], PipelineReader] = field(
        default=lambda options: KubePipelineReader(load_kubeconfig(options))
    )
    approvals: Callable[[str, KubeOptions], ApprovalClient] = field(
        default=lambda url, options: ApprovalClient(url, bearer_token(load_kubeconfig(options)))
    )
    namespace: Callable[[KubeOptions], str] = default_namespace


def backends() -> Backends:
    """The ``Backends`` of the current click context (the real ones unless a test set some)."""
    context = click.get_current_context()
    found = context.find_object(Backends)
    return found if found is not None else Backends()
