"""The demo ``ferryman up`` installs: a Git repository, two users, their RBAC, and a Pipeline.

Everything is created once and kept in the state directory, so a restart resumes the same demo:

- ``<dir>/demo-repo.git``: a bare repository whose ``dev/``, ``staging/`` and ``prod/`` hold a
  podinfo HelmRelease; the chart versions carry ``$promotion`` markers
  (``# {"$promotion": "default:podinfo:staging"}``) the way Weave GitOps users mark them.
- ``<dir>/demo-users.csv``: bearer tokens (kube-apiserver's token-file format) for ``alice``
  (group ``release-managers``: may approve, hold, promote and roll back) and ``bob`` (group
  ``viewers``: may only look).
- RBAC: ClusterRole ``ferryman-approver`` (verbs ``approve``/``reject`` on
  ``pipelines.pipelines.weave.works``) bound to group ``release-managers``; ClusterRole
  ``ferryman-viewer`` (read pipelines and Flux objects) bound to both groups.
- Pipeline ``default/podinfo``: dev → staging (automatic, ``git-push``) → prod (``git-push``,
  one approval from ``release-managers``, soak time in staging). Staging verifies every
  revision with a signed ``webhook`` check against the demo's smoke-test service
  (``embedded.smoke``, Secret ``demo-smoke`` holds its ``hmac-key``): ``ferryman demo release
  6.6.7`` deploys fine but fails it, so prod never gets 6.6.7.

``release`` is what a CI system does after building a version: commit it to ``dev/``.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import secrets
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import yaml

from ferryman.api import crd as crd_model
from ferryman.domain import manifests
from ferryman.embedded import flux, smoke

NAMESPACE: Final = "default"
PIPELINE: Final = "podinfo"
ENVIRONMENTS: Final = ("dev", "staging", "prod")
INITIAL_VERSION: Final = "6.1.0"
REPOSITORY_DIR: Final = "demo-repo.git"
USERS_FILE: Final = "demo-users.csv"
APPROVER_GROUP: Final = "release-managers"
VIEWER_GROUP: Final = "viewers"
SMOKE_SECRET: Final = "demo-smoke"  # noqa: S105 - the Secret's name, not a secret
SMOKE_CHECK: Final = "smoke"
# (user, groups): who the demo signs in as.
USERS: Final = (("alice", (APPROVER_GROUP,)), ("bob", (VIEWER_GROUP,)))
MANIFEST: Final = """\
# podinfo in {env}. CI bumps dev; Ferryman promotes the marked version into {env}.
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: {env}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      version: {version} # {{"$promotion": "{namespace}:{pipeline}:{env}"}}
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: flux-system
  values:
    replicaCount: {replicas}
"""


class DemoError(RuntimeError):
    """The demo's repository or state directory is not usable; the message says why."""


@dataclasses.dataclass(frozen=True)
class DemoUser:
    """A demo identity and its bearer token."""

    name: str
    groups: tuple[str, ...]
    token: str


# --------------------------------------------------------------------------- Git


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": tempfile.gettempdir(),
        "GIT_AUTHOR_NAME": "Ferryman demo CI",
        "GIT_AUTHOR_EMAIL": "ci@ferryman.invalid",
        "GIT_COMMITTER_NAME": "Ferryman demo CI",
        "GIT_COMMITTER_EMAIL": "ci@ferryman.invalid",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DemoError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def repository_path(state_dir: Path) -> Path:
    """Where the demo's bare repository lives."""
    return state_dir / REPOSITORY_DIR


def repository_url(state_dir: Path) -> str:
    """The URL the Pipeline's git-push strategy pushes to (a local ``file://`` URL)."""
    return repository_path(state_dir).resolve().as_uri()


def manifest(env: str, version: str) -> str:
    """The HelmRelease of one environment, with its ``$promotion`` marker."""
    replicas = 3 if env == "prod" else 1
    return MANIFEST.format(
        env=env, version=version, namespace=NAMESPACE, pipeline=PIPELINE, replicas=replicas
    )


def create_repository(state_dir: Path) -> Path:
    """Create the bare repository with the first version everywhere (kept when it exists)."""
    bare = repository_path(state_dir)
    if (bare / "HEAD").exists():
        return bare
    state_dir.mkdir(parents=True, exist_ok=True)
    _git("init", "--bare", "--quiet", "--initial-branch=main", str(bare))
    with tempfile.TemporaryDirectory(prefix="ferryman-demo-") as tmp:
        work = Path(tmp) / "work"
        _git("clone", "--quiet", str(bare), str(work))
        for env in ENVIRONMENTS:
            (work / env).mkdir()
            (work / env / "podinfo.yaml").write_text(manifest(env, INITIAL_VERSION))
        (work / "README.md").write_text(
            "# Ferryman demo fleet\n\nFlux applies `dev/`, `staging/` and `prod/`; "
            "Ferryman promotes between them by pushing commits here.\n"
        )
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "-m", f"Deploy podinfo {INITIAL_VERSION} everywhere", cwd=work)
        _git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return bare


def release(state_dir: Path, version: str) -> str:
    """Commit ``version`` to ``dev/`` like CI would; returns the new commit (or the tip, unchanged).

    Raises ``DemoError`` when the demo repository does not exist (``ferryman up`` creates it).
    """
    bare = repository_path(state_dir)
    if not (bare / "HEAD").exists():
        raise DemoError(
            f"no demo repository in {state_dir}: "
            f"start the demo first with `ferryman up --dir {state_dir}`"
        )
    token = manifests.promotion_token(NAMESPACE, PIPELINE, "dev")
    with tempfile.TemporaryDirectory(prefix="ferryman-release-") as tmp:
        work = Path(tmp) / "work"
        _git("clone", "--quiet", "--branch", "main", str(bare), str(work))
        path = work / "dev" / "podinfo.yaml"
        patched = manifests.set_revision(
            path.read_text(), token=token, revision=version, filename="dev/podinfo.yaml"
        )
        if patched.changed_lines:
            path.write_text(patched.text)
            _git("commit", "--quiet", "-am", f"Release podinfo {version} to dev", cwd=work)
            _git("push", "--quiet", "origin", "HEAD:main", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work).strip()


# --------------------------------------------------------------------------- users


def users(state_dir: Path) -> list[DemoUser]:
    """The demo users with their tokens, generated on first use and kept in the token file."""
    path = state_dir / USERS_FILE
    known: dict[str, str] = {}
    if path.exists():
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            if len(row) >= 2:
                known[row[1]] = row[0]
    found = [
        DemoUser(name, groups, known.get(name) or secrets.token_urlsafe(24))
        for name, groups in USERS
    ]
    if any(user.name not in known for user in found):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for user in found:
            writer.writerow([user.token, user.name, user.name, ",".join(user.groups)])
        state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return found


def token_file(state_dir: Path) -> Path:
    """The token file for the API server (written by ``users``)."""
    users(state_dir)
    return state_dir / USERS_FILE


# --------------------------------------------------------------------------- objects

HELMRELEASE_CRD: Final = """\
# A compact HelmRelease CRD (served when Flux's own CRDs are not given with --crds): the same
# group, version, names and printer columns; spec and status are kept as written.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmreleases.helm.toolkit.fluxcd.io
spec:
  group: helm.toolkit.fluxcd.io
  names: {kind: HelmRelease, listKind: HelmReleaseList, plural: helmreleases, singular: helmrelease,
          shortNames: [hr]}
  scope: Namespaced
  versions:
    - name: v2
      served: true
      storage: true
      subresources: {status: {}}
      additionalPrinterColumns:
        - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
        - {name: Ready, type: string, jsonPath: ".status.conditions[?(@.type==\\"Ready\\")].status"}
        - {name: Status, type: string,
           jsonPath: ".status.conditions[?(@.type==\\"Ready\\")].message"}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def crds(crd_dir: Path | None) -> list[dict[str, Any]]:
    """The Pipeline CRD (generated from ``ferryman.api``) and a HelmRelease CRD.

    With ``crd_dir`` every CRD in that directory is installed too (Flux's real CRDs validate the
    local Flux's statuses exactly like a cluster); otherwise the compact HelmRelease CRD above.
    """
    found: list[dict[str, Any]] = [crd_model.custom_resource_definition()]
    if crd_dir is None:
        found.append(yaml.safe_load(HELMRELEASE_CRD))
        return found
    for path in sorted(crd_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "CustomResourceDefinition"
                and doc["metadata"]["name"] != found[0]["metadata"]["name"]
            ):
                found.append(doc)
    return found


def _granted(role: str, verbs: list[str], group: str) -> list[dict[str, Any]]:
    """A ClusterRole with ``verbs`` on pipelines, bound to ``group``."""
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [
                {"apiGroups": ["pipelines.weave.works"], "resources": ["pipelines"], "verbs": verbs}
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{role}-{group}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
        },
    ]


def rbac_objects() -> list[dict[str, Any]]:
    """Roles that give alice (release-managers) approve/reject and the operator verbs (hold,
    promote, verify), and let everyone in the demo read."""
    rbac = "rbac.authorization.k8s.io/v1"
    read = ["get", "list", "watch"]
    return [
        *_granted("ferryman-operator", ["hold", "promote", "verify"], APPROVER_GROUP),
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": "ferryman-approver"},
            "rules": [
                {
                    "apiGroups": ["pipelines.weave.works"],
                    "resources": ["pipelines"],
                    "verbs": ["approve", "reject"],
                }
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "ferryman-approver-release-managers"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "ferryman-approver",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": APPROVER_GROUP}
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": "ferryman-viewer"},
            "rules": [
                {"apiGroups": ["pipelines.weave.works"], "resources": ["pipelines"], "verbs": read},
                {
                    "apiGroups": ["helm.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"],
                    "resources": ["helmreleases", "kustomizations"],
                    "verbs": read,
                },
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "ferryman-viewer"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "ferryman-viewer",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                for group in (VIEWER_GROUP, APPROVER_GROUP)
            ],
        },
    ]


def smoke_url(http_port: int) -> str:
    """Where the demo's smoke-test service answers (on the UI's port, loopback only)."""
    return f"http://127.0.0.1:{http_port}{smoke.PATH}"


def smoke_check(url: str) -> dict[str, Any]:
    """Staging's verification: the signed smoke-test call."""
    return {
        "name": SMOKE_CHECK,
        "webhook": {"url": url, "secretRef": {"name": SMOKE_SECRET}, "timeout": "5s"},
    }


def smoke_secret(state_dir: Path) -> dict[str, Any]:
    """The Secret whose ``hmac-key`` signs the smoke-test calls (the service has the same)."""
    encoded = base64.b64encode(smoke.key(state_dir)).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SMOKE_SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {"hmac-key": encoded},
    }


def pipeline_object(repo_url: str, *, soak_seconds: int, smoke: str = "") -> dict[str, Any]:
    """dev → staging (automatic, verified by the ``smoke`` URL when given) → prod (approval by
    release-managers after the soak)."""
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": PIPELINE, "namespace": NAMESPACE},
        "spec": {
            "appRef": {
                "apiVersion": flux.HELM_API,
                "kind": "HelmRelease",
                "name": "podinfo",
            },
            "promotion": {"strategy": {"git-push": {"url": repo_url, "branch": "main"}}},
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {
                    "name": "staging",
                    "targets": [{"namespace": "staging"}],
                    **({"verification": {"checks": [smoke_check(smoke)]}} if smoke else {}),
                },
                {
                    "name": "prod",
                    "targets": [{"namespace": "prod"}],
                    "promotion": {
                        "approval": {"required": 1, "approvers": {"groups": [APPROVER_GROUP]}},
                        "minReadySeconds": soak_seconds,
                    },
                },
            ],
        },
    }


def namespaces() -> list[dict[str, Any]]:
    """The environments' namespaces (and flux-system, where the chart source would live)."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in (*ENVIRONMENTS, "flux-system")
    ]


_COLLECTIONS: Final = {
    "CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "Namespace": "/api/v1/namespaces",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "Pipeline": f"/apis/pipelines.weave.works/v1alpha1/namespaces/{NAMESPACE}/pipelines",
    "Secret": f"/api/v1/namespaces/{NAMESPACE}/secrets",
}


def create_missing(client: flux.KubeClient, objects: Iterable[dict[str, Any]]) -> list[str]:
    """Create each object unless it exists (a restart keeps what is there); returns the new ones."""
    created: list[str] = []
    for obj in objects:
        answer = client.request("POST", _COLLECTIONS[obj["kind"]], obj)
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if answer.status in (200, 201):
            created.append(name)
        elif answer.status != 409:
            message = answer.body.get("message") or f"HTTP {answer.status}"
            raise DemoError(f"{name} cannot be created: {message}")
    return created


def install(
    client: flux.KubeClient,
    state_dir: Path,
    *,
    soak_seconds: int,
    crd_dir: Path | None = None,
    smoke: str = "",
) -> list[str]:
    """Install CRDs, namespaces, RBAC, the smoke-test Secret and the Pipeline (verified by the
    ``smoke`` URL when given); returns what was newly created."""
    created = create_missing(client, crds(crd_dir))
    created += create_missing(client, namespaces())
    created += create_missing(client, rbac_objects())
    if smoke:
        created += create_missing(client, [smoke_secret(state_dir)])
    pipeline = pipeline_object(repository_url(state_dir), soak_seconds=soak_seconds, smoke=smoke)
    created += create_missing(client, [pipeline])
    return created


def point_smoke_check(client: flux.KubeClient, url: str) -> bool:
    """Make the demo Pipeline's smoke check call ``url`` (the UI's port may differ from the last
    run's); a Pipeline without that check is left as the user made it. True when it changed."""
    path = f"{_COLLECTIONS['Pipeline']}/{PIPELINE}"
    answer = client.request("GET", path)
    if answer.status != 200:
        return False
    obj = answer.body
    for env in (obj.get("spec") or {}).get("environments") or []:
        for check in ((env.get("verification") or {}).get("checks")) or []:
            hook = check.get("webhook") if check.get("name") == SMOKE_CHECK else None
            if isinstance(hook, dict) and hook.get("url", "").endswith(smoke.PATH):
                if hook["url"] == url:
                    return False
                hook["url"] = url
                updated = client.request("PUT", path, obj)
                if updated.status != 200:
                    raise DemoError(f"Pipeline/{PIPELINE} cannot be updated: HTTP {updated.status}")
                return True
    return False
