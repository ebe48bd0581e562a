"""Flux revision formats: what identifies a revision and what a manifest holds for it.

The formats are those Flux writes: fluxcd/pkg ``git/git.go`` ``Commit.String`` and
``git/utils.go`` (``TransformRevision``, ``SplitRevision`` document the legacy forms),
kustomize-controller ``docs/spec/v1/kustomizations.md`` (``main@sha1:…``, ``v1.0.1@sha1:…``),
helm-controller ``internal/controller/helmrelease_controller.go``
(``mutateChartWithSourceRevision``: ``+<first 12 hex of the digest>``) and
``docs/spec/v2/helmreleases.md`` (``6.6.1+0cc9a8446c95``).
"""

from __future__ import annotations

import pytest

from ferryman.domain import revisions

SHA1 = "450796ddb2ab6724ee1cc32a4be56da032d1cca0"
SHA256 = "0cc9a8446c95009ef382f5eade883a67c257f77d50f84e78ecef2aac9428d1e5"


@pytest.mark.parametrize(
    ("kind", "raw", "identity", "promotable"),
    [
        ("Kustomization", f"main@sha1:{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"feature/branch@sha1:{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"refs/heads/main@sha1:{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"refs/pull/7/head@sha1:{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"v1.0.1@sha1:{SHA1}", f"sha1:{SHA1}", "v1.0.1"),
        ("Kustomization", f"6.6.1-rc.1@sha1:{SHA1}", f"sha1:{SHA1}", "6.6.1-rc.1"),
        ("Kustomization", f"refs/tags/release-7@sha1:{SHA1}", f"sha1:{SHA1}", "release-7"),
        ("Kustomization", f"sha1:{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"latest@sha256:{SHA256}", f"sha256:{SHA256}", "latest"),
        ("Kustomization", f"6.6.1@sha256:{SHA256}", f"sha256:{SHA256}", "6.6.1"),
        ("Kustomization", f"sha256:{SHA256}", f"sha256:{SHA256}", f"sha256:{SHA256}"),
        ("Kustomization", f"main/{SHA1}", f"sha1:{SHA1}", SHA1),
        ("Kustomization", f"HEAD/{SHA1}", f"sha1:{SHA1}", SHA1),
        ("HelmRelease", "6.6.1+0cc9a8446c95", "6.6.1+0cc9a8446c95", "6.6.1"),
        ("HelmRelease", "6.0.0+a1b2c3d4e5f6", "6.0.0+a1b2c3d4e5f6", "6.0.0"),
        ("HelmRelease", "6.6.1", "6.6.1", "6.6.1"),
        ("HelmRelease", f"v1.0.1@sha1:{SHA1}", f"sha1:{SHA1}", "v1.0.1"),
        ("Application", SHA1, SHA1, SHA1),
        ("Thing", "1.0.0+build.7", "1.0.0+build.7", "1.0.0+build.7"),
        ("Kustomization", "main@sha1:abc", "main@sha1:abc", "main@sha1:abc"),
        ("Kustomization", f"main@md5:{SHA1}", f"main@md5:{SHA1}", f"main@md5:{SHA1}"),
        (
            "Kustomization",
            f"main@sha1:{SHA1.upper()}",
            f"main@sha1:{SHA1.upper()}",
            "main@sha1:" + SHA1.upper(),
        ),
        ("Kustomization", "", "", ""),
    ],
)
def test_identity_and_promotable_value(kind: str, raw: str, identity: str, promotable: str) -> None:
    """Flux source revisions are identified by their content digest and written as the tag,
    commit or digest a source's ref can hold; chart versions lose helm-controller's ``+…``."""
    assert revisions.identity(raw) == identity
    assert revisions.promotable(kind, raw) == promotable


def test_parse_splits_reference_algorithm_and_digest() -> None:
    """``<ref>@<algorithm>:<digest>``; a bare digest has no reference; other text is no revision."""
    assert revisions.parse(f"refs/heads/main@sha1:{SHA1}") == revisions.FluxRevision(
        "refs/heads/main", "sha1", SHA1
    )
    assert revisions.parse(f"sha256:{SHA256}") == revisions.FluxRevision("", "sha256", SHA256)
    assert revisions.parse("6.6.1+0cc9a8446c95") is None
    assert revisions.parse(f"/{SHA1}") is None


def test_the_same_commit_through_any_reference_is_the_same_revision() -> None:
    """A branch, a tag and a bare commit naming one commit compare equal; the empty revision
    equals only itself; chart versions compare whole, digest suffix included."""
    assert revisions.same(f"main@sha1:{SHA1}", f"v1.0.1@sha1:{SHA1}")
    assert revisions.same(f"main@sha1:{SHA1}", f"sha1:{SHA1}")
    assert not revisions.same(f"main@sha1:{SHA1}", f"main@sha1:{'0' * 40}")
    assert revisions.same("", "")
    assert not revisions.same("", f"sha1:{SHA1}")
    assert not revisions.same("6.6.1+0cc9a8446c95", "6.6.1+cdd538a0167e")
    assert not revisions.same("6.6.1+0cc9a8446c95", "6.6.1")
