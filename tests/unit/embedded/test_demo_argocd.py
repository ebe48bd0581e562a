"""The demo's Argo CD variant: Applications in Git with markers, the Pipeline's appRef, the CRD."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ferryman.domain import manifests
from ferryman.embedded import demo


def test_the_repository_holds_one_marked_application_per_environment(tmp_path: Path) -> None:
    """Each environment's file is an Argo CD Application whose targetRevision carries the marker;
    ``release`` bumps dev's, as for the Flux demo."""
    bare = demo.create_repository(tmp_path, "argocd")
    assert demo.app_kind(tmp_path) == "argocd"
    text = subprocess.run(
        ["git", f"--git-dir={bare}", "show", "main:staging/podinfo.yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    app = yaml.safe_load(text)
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    assert app["spec"]["source"]["targetRevision"] == demo.INITIAL_VERSION
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    token = manifests.promotion_token(demo.NAMESPACE, demo.PIPELINE, "staging")
    assert token in text
    demo.release(tmp_path, "6.2.0")
    assert demo.create_repository(tmp_path, "argocd") == bare


def test_a_demo_keeps_its_app_kind(tmp_path: Path) -> None:
    """Restarting a Flux demo's directory with --app-kind argocd is refused with what to do."""
    demo.create_repository(tmp_path)
    assert demo.app_kind(tmp_path) == "flux"
    with pytest.raises(demo.DemoError, match="use another --dir"):
        demo.create_repository(tmp_path, "argocd")


def test_the_pipeline_and_crds_for_argo_cd(tmp_path: Path) -> None:
    """appRef names the Application; the compact Application CRD is added unless --crds has
    one; viewers may read Applications."""
    obj = demo.pipeline_object("file:///repo", soak_seconds=2, kind="argocd")
    assert obj["spec"]["appRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "name": "podinfo",
    }
    names = [crd["metadata"]["name"] for crd in demo.crds(None, "argocd")]
    assert names[1:] == ["applications.argoproj.io"]
    (tmp_path / "argo.yaml").write_text(
        yaml.safe_dump(
            {"kind": "CustomResourceDefinition", "metadata": {"name": "applications.argoproj.io"}}
        )
    )
    assert [c["metadata"]["name"] for c in demo.crds(tmp_path, "argocd")][1:] == [
        "applications.argoproj.io"
    ]
    assert "helmreleases.helm.toolkit.fluxcd.io" in [
        c["metadata"]["name"] for c in demo.crds(tmp_path, "flux")
    ]
    viewer = next(o for o in demo.rbac_objects() if o["metadata"]["name"] == "ferryman-viewer")
    assert {
        "apiGroups": ["argoproj.io"],
        "resources": ["applications"],
        "verbs": ["get", "list", "watch"],
    } in viewer["rules"]
