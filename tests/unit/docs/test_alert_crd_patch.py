"""The patch docs/user-guide.md gives for Flux's Alert CRD lets an Alert name a Pipeline.

notification-controller matches an event's involved object by kind, name and namespace, whatever
the kind; only the Alert CRD's enum (``eventSources.items.kind``) refuses ``Pipeline``. The CRD is
the real one (``../shared/fixtures/crds``); the patch is read from the guide itself.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

from ferryman.embedded.apiserver import schema

ROOT = Path(__file__).resolve().parents[3]
ALERTS = ROOT / ".." / "shared" / "fixtures" / "crds" / "notification.toolkit.fluxcd.io_alerts.yaml"
GUIDE = ROOT / "docs" / "user-guide.md"
ALERT = {
    "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
    "kind": "Alert",
    "metadata": {"name": "podinfo-promotions", "namespace": "default"},
    "spec": {
        "providerRef": {"name": "promotions"},
        "eventSeverity": "info",
        "eventSources": [{"kind": "Pipeline", "name": "podinfo"}],
    },
}


def guide_patch() -> list[dict[str, Any]]:
    """The JSON patch in the guide's kustomization example."""
    block = re.search(r"patches:\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert block is not None
    [entry] = yaml.safe_load("patches:\n" + block.group(1))["patches"]
    patch: list[dict[str, Any]] = yaml.safe_load(entry["patch"])
    return patch


def validator(crd: dict[str, Any]) -> schema.StructuralSchema:
    [version] = crd["spec"]["versions"]
    return schema.StructuralSchema(version["schema"]["openAPIV3Schema"])


def test_the_alert_crd_refuses_pipeline_until_patched() -> None:
    """Unpatched: the enum refuses ``Pipeline``; patched as the guide says: accepted."""
    crd = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert validator(crd).validate(copy.deepcopy(ALERT)) != []
    patched = jsonpatch.apply_patch(crd, guide_patch())
    assert validator(patched).validate(copy.deepcopy(ALERT)) == []
