"""What a promotion writes at a ``$promotion`` marker: a value a manifest can hold (real Git).

helm-controller reports an OCI chart as ``6.6.1+0cc9a8446c95`` (docs/spec/v2/helmreleases.md);
kustomize-controller reports ``main@sha1:<commit>``, ``v1.0.1@sha1:<commit>``, OCI
``latest@sha256:<digest>`` (docs/spec/v1/kustomizations.md, fluxcd/pkg git.Commit.String).
None of those strings is a chart version, a tag, a commit or a digest; the marker gets the part
that is (``domain.revisions.promotable``). Commit trailers keep the full revision.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.fakes import gitserver
from tests.fakes.promotions import World, make_request

from ferryman.api import pipeline

SHA1 = "450796ddb2ab6724ee1cc32a4be56da032d1cca0"
SHA256 = "0cc9a8446c95009ef382f5eade883a67c257f77d50f84e78ecef2aac9428d1e5"
HELM = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "podinfo"}
KUSTOMIZE = {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
    "kind": "Kustomization",
    "name": "podinfo",
}
MARKER = '# {"$promotion": "flux-system:podinfo:prod"}'


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world("github")


@pytest.mark.parametrize(
    ("app", "revision", "written"),
    [
        (HELM, "6.6.1+0cc9a8446c95", "6.6.1"),
        (KUSTOMIZE, f"main@sha1:{SHA1}", SHA1),
        (KUSTOMIZE, f"v1.0.1@sha1:{SHA1}", "v1.0.1"),
        (KUSTOMIZE, f"refs/heads/main@sha1:{SHA1}", SHA1),
        (KUSTOMIZE, f"latest@sha256:{SHA256}", "latest"),
        (KUSTOMIZE, f"sha256:{SHA256}", f"sha256:{SHA256}"),
    ],
    ids=["OCI chart", "branch", "tag", "absolute branch", "OCI tag", "OCI digest"],
)
async def test_the_marker_gets_the_promotable_part_and_the_trailer_the_revision(
    world: World, app: dict[str, str], revision: str, written: str
) -> None:
    """git-push writes the promotable value; the commit trailer names the full revision."""
    request = make_request(world.push_spec(), revision)
    request = type(request)(**{**request.__dict__, "app": pipeline.AppRef.model_validate(app)})
    await world.git_push().promote(request)
    release = gitserver.show(world.bare, "main", "apps/prod/helmrelease.yaml").decode()
    assert f'version: "{written}" {MARKER}' in release
    message = gitserver.log(world.bare, "main", fmt="%B")
    assert f"Ferryman-Revision: {revision}" in message
