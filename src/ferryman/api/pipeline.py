"""``Pipeline`` spec: every field of the original Weave GitOps API plus Ferryman's extensions.

Compatibility rule: an object written for the archived pipeline-controller parses here and means
what it meant there. In particular an environment's ``promotion`` replaces the pipeline-level one
for ``manual`` and ``strategy`` (as ``GetPromotion`` did); only Ferryman's new fields (approval,
soak time, windows) and a strategy the environment leaves out fall back to ``spec.promotion``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ferryman.api import durations
from ferryman.api import verification as checks
from ferryman.api.base import WireModel
from ferryman.api.status import PipelineStatus

GROUP = "pipelines.weave.works"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Pipeline"
PLURAL = "pipelines"

# Bounds that keep a Pipeline's status far below etcd's 1.5 MiB limit (DESIGN §3, P6).
MAX_ENVIRONMENTS = 8
MAX_TARGETS = 8
MAX_WINDOWS = 8
MAX_APPROVERS = 20
MAX_REQUIRED_APPROVALS = 5

# App kinds whose revision and readiness live in status: Ferryman caches only their identity,
# generation, spec.suspend and status, so a revisionPath for them must point under .status.
STATUS_ONLY_KINDS = frozenset(
    {
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        ("argoproj.io", "Application"),
    }
)

Name = Annotated[str, Field(min_length=1, max_length=253)]
ShortName = Annotated[str, Field(min_length=1, max_length=63)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Duration = Annotated[str, Field(pattern=durations.PATTERN, max_length=32)]


class LocalObjectReference(WireModel):
    """A Secret in the Pipeline's namespace."""

    name: Name = Field(description="Name of the referent.")


class ClusterReference(WireModel):
    """A ``GitopsCluster`` holding a remote kubeconfig (``CrossNamespaceClusterReference``)."""

    api_version: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="API version of the referent."
    )
    kind: Literal["GitopsCluster"] = Field(description="Kind of the referent.")
    name: Name = Field(description="Name of the referent.")
    namespace: ShortName | None = Field(
        default=None,
        description="Namespace of the referent, defaults to the namespace of the Pipeline.",
    )


class AppRef(WireModel):
    """The application object (the same kind and name in every target) the pipeline promotes."""

    api_version: Name = Field(
        description="API version of the referent, e.g. helm.toolkit.fluxcd.io/v2."
    )
    kind: ShortName = Field(
        description="Kind of the referent: HelmRelease, Kustomization, Application, ..."
    )
    name: Name = Field(description="Name of the referent.")
    revision_path: Annotated[str, Field(max_length=253)] | None = Field(
        default=None,
        description=(
            "Ferryman: the dotted path of the field holding the deployed revision (e.g. "
            ".status.lastAppliedRevision), for any kind; for HelmRelease, Kustomization and "
            "Argo CD Application it must be under .status and replaces the kind's own field. "
            "Readiness still comes from the kind's rule (kstatus Ready for other kinds)."
        ),
    )


class Target(WireModel):
    """One namespace, on the Pipeline's cluster or on a remote one, where the app runs."""

    namespace: ShortName = Field(
        description="Namespace of the app object on the referenced cluster."
    )
    cluster_ref: ClusterReference | None = Field(
        default=None,
        description="Remote cluster of this target; absent means the Pipeline's own cluster.",
    )


class GitProviderType(enum.StrEnum):
    """Hosting services the pull-request strategy speaks to."""

    GITHUB = "github"  # GitHub and GitHub Enterprise (API at /api/v3)
    GITLAB = "gitlab"  # GitLab (API at /api/v4)
    BITBUCKET_SERVER = "bitbucket-server"  # Bitbucket Server / Data Center (/rest/api/1.0)
    AZURE_DEVOPS = "azure-devops"  # Azure DevOps Services and Server (/_apis/git)
    GITEA = "gitea"  # Gitea and Forgejo (/api/v1)


class PullRequestPromotion(WireModel):
    """Promote by opening (or updating) a pull request that bumps the marked versions."""

    type: GitProviderType = Field(description="Git hosting service that manages the pull requests.")
    url: Url = Field(description="URL of the Git repository holding the manifests (HTTPS or SSH).")
    base_branch: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="Branch the pull request targets."
    )
    secret_ref: LocalObjectReference = Field(
        description="Secret with Flux's Git keys ('username'/'password', 'bearerToken', 'ca.crt', "
        "'identity'/'known_hosts') and 'token' for the API."
    )
    server_url: Url | None = Field(
        default=None,
        alias="serverURL",
        description="Ferryman: base URL of the hosting service as a browser opens it (e.g. "
        "https://gitlab.example.com/gitlab); the API is found from it. Derived from 'url' when "
        "omitted; needed for SSH URLs whose server runs HTTPS elsewhere or under a sub-path.",
    )


class GitPushPromotion(WireModel):
    """Ferryman: promote by committing the marker change straight to a branch."""

    url: Url = Field(description="URL of the Git repository (HTTPS, SSH or a local path).")
    branch: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="Branch to push to."
    )
    secret_ref: LocalObjectReference | None = Field(
        default=None,
        description="Secret with 'username'/'password' (HTTPS) or 'identity'/'known_hosts' (SSH).",
    )


class NotificationPromotion(WireModel):
    """Promote by emitting a Kubernetes Event that Flux's notification-controller forwards."""


ONE_STRATEGY_MESSAGE = "set at most one of pull-request, git-push and notification"


class Strategy(WireModel):
    """How a promotion is carried out: exactly one of pull-request, git-push, notification."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": (
                        "(has(self.pull__dash__request) ? 1 : 0)"
                        " + (has(self.git__dash__push) ? 1 : 0)"
                        " + (has(self.notification) ? 1 : 0) <= 1"
                    ),
                    "message": ONE_STRATEGY_MESSAGE,
                }
            ]
        }
    )

    pull_request: PullRequestPromotion | None = Field(
        default=None, alias="pull-request", description="Open a pull request."
    )
    git_push: GitPushPromotion | None = Field(
        default=None, alias="git-push", description="Ferryman: push a commit to a branch."
    )
    notification: NotificationPromotion | None = Field(
        default=None, description="Emit an event through Flux's notification-controller."
    )
    secret_ref: LocalObjectReference | None = Field(
        default=None,
        description="Secret whose 'hmac-key' authenticates webhook calls for this pipeline.",
    )

    def chosen(self) -> list[str]:
        """The wire names of the strategies that are set (valid specs have exactly one)."""
        names: dict[str, object] = {
            "pull-request": self.pull_request,
            "git-push": self.git_push,
            "notification": self.notification,
        }
        return [name for name, value in names.items() if value is not None]


class Approvers(WireModel):
    """Who may approve, on top of Kubernetes RBAC (verb ``approve`` on the pipeline)."""

    users: Annotated[tuple[Name, ...], Field(max_length=MAX_APPROVERS)] = ()
    groups: Annotated[tuple[Name, ...], Field(max_length=MAX_APPROVERS)] = ()


class ApprovalPolicy(WireModel):
    """Ferryman: approvals a promotion needs before it runs."""

    required: Annotated[int, Field(ge=1, le=MAX_REQUIRED_APPROVALS)] = Field(
        default=1, description="Number of approvals from distinct users."
    )
    approvers: Approvers | None = Field(
        default=None,
        description="Users and groups allowed to approve; absent means anyone RBAC allows.",
    )
    prevent_self_approval: bool | None = Field(
        default=None,
        description=(
            "Four-eyes across stages: a user who approved this revision into the previous "
            "environment may not approve it into this one."
        ),
    )
    expires_after: Duration | None = Field(
        default=None,
        description="An approval request not decided within this duration expires (e.g. 72h).",
    )


class WindowKind(enum.StrEnum):
    """Whether a schedule opens or closes the gate."""

    ALLOW = "allow"  # promotions only inside one of the allow windows
    DENY = "deny"  # no promotion inside any deny window (wins over allow)


class Window(WireModel):
    """Ferryman: a recurring time window, like Kargo's and Flagger's schedules."""

    kind: WindowKind = Field(description="allow or deny.")
    schedule: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="Cron expression (5 fields) for when the window opens."
    )
    duration: Duration = Field(description="How long the window stays open, e.g. 8h.")
    time_zone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="IANA time zone of the schedule; UTC when absent."
    )


class Promotion(WireModel):
    """How promotions into an environment (or into every environment) are carried out."""

    manual: bool | None = Field(
        default=None, description="Require one manual approval before promoting (original API)."
    )
    strategy: Strategy | None = Field(default=None, description="The promotion strategy.")
    approval: ApprovalPolicy | None = Field(default=None, description="Ferryman: approval policy.")
    min_ready_seconds: Annotated[int, Field(ge=0, le=30 * 24 * 3600)] | None = Field(
        default=None,
        description="Ferryman: soak time; the source environment must stay ready this long first.",
    )
    windows: Annotated[tuple[Window, ...], Field(max_length=MAX_WINDOWS)] | None = Field(
        default=None, description="Ferryman: allow/deny schedules for promotions."
    )


class Environment(WireModel):
    """One stage of the pipeline: its targets and, optionally, how promotions into it happen."""

    name: ShortName = Field(description='Name of the environment, e.g. "dev" or "prod".')
    targets: Annotated[tuple[Target, ...], Field(min_length=1, max_length=MAX_TARGETS)] = Field(
        description="Targets of this environment; at least one."
    )
    promotion: Promotion | None = Field(
        default=None, description="Promotion into this environment; overrides spec.promotion."
    )
    verification: checks.Verification | None = Field(
        default=None,
        description="Ferryman: checks a revision must pass here before the next environment gets "
        "it; replaces spec.verification.",
    )


class PipelineSpec(WireModel):
    """What the user declares: the app, its environments in order, how to promote."""

    app_ref: AppRef = Field(description="The application governed by the pipeline.")
    environments: Annotated[
        tuple[Environment, ...], Field(min_length=1, max_length=MAX_ENVIRONMENTS)
    ] = Field(
        description="Environments in promotion order; names are unique.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    promotion: Promotion | None = Field(
        default=None, description="Default promotion settings for every environment."
    )
    suspend: bool | None = Field(
        default=None,
        description="Ferryman: while true targets are observed but nothing is promoted.",
    )
    verification: checks.Verification | None = Field(
        default=None, description="Ferryman: default verification checks of every environment."
    )

    def environment(self, name: str) -> Environment | None:
        """The environment called ``name``, if the spec has one."""
        return next((env for env in self.environments if env.name == name), None)


class ObjectMeta(WireModel):
    """The part of ``metadata`` Ferryman reads."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    generation: int = 0
    resource_version: str = ""
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class Pipeline(WireModel):
    """A ``pipelines.weave.works/v1alpha1`` Pipeline."""

    api_version: str = API_VERSION
    kind: str = KIND
    metadata: ObjectMeta = ObjectMeta()
    spec: PipelineSpec
    status: PipelineStatus = PipelineStatus()

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Pipeline:
        """Parse an object as the API server returns it (``pydantic.ValidationError`` if bad)."""
        return cls.model_validate(obj)
