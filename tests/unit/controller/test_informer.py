"""The informer cache: list + watch, relist after 410, and trimmed objects for well-known apps."""

from __future__ import annotations

import asyncio

from tests.fakes import kubernetes as fakes
from tests.unit.controller import story

from ferryman.controller import informer, targets
from ferryman.ports import kubernetes as k8s

HELM = k8s.Kind(story.HELM, "HelmRelease")


async def test_relist_after_compaction_reports_what_changed_while_away() -> None:
    """A 410 makes the informer list again; changes made meanwhile reach the handler."""
    api = fakes.FakeKubernetes()
    api.put(story.helm_release("dev", "1.0.0"))
    seen: list[str] = []
    cache = informer.Informer(
        "test",
        api.source(HELM, None),
        lambda old, new: seen.append(
            (new or {}).get("spec", {}).get("chart", {}).get("spec", {}).get("version", "gone")
        ),
    )
    task = asyncio.ensure_future(cache.run())
    await cache.synced.wait()
    for _ in range(100):  # until the watch is open
        if api.watchers:
            break
        await asyncio.sleep(0.01)
    api.compact()  # drops the watch
    api.put(story.helm_release("dev", "1.1.0"))
    api.compact()  # and expires the version the informer will resume from
    for _ in range(500):
        if seen[-1:] == ["1.1.0"]:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert seen == ["1.0.0", "1.1.0"]
    assert cache.relists >= 2


def test_well_known_app_objects_are_cached_without_their_spec() -> None:
    """HelmRelease caches keep identity, generation and status only (values can be large)."""
    obj = story.helm_release("dev", "1.0.0")
    obj["metadata"].update(generation=3, resourceVersion="9", uid="u", labels={"a": "b"})
    obj["spec"]["values"] = {"big": "x" * 10_000}
    trimmed = targets.observed_fields(obj)
    assert "spec" not in trimmed
    assert trimmed["status"] == obj["status"]
    assert trimmed["metadata"] == {
        "name": "podinfo",
        "namespace": "dev",
        "uid": "u",
        "resourceVersion": "9",
        "generation": 3,
    }


def test_argo_cd_applications_keep_what_readiness_needs() -> None:
    """An Application's cache keeps ``spec.syncPolicy.automated`` and ``operation`` (automated
    sync off means suspended; a requested sync is not ready), not the rest of its spec."""
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "source": {"helm": {"valuesObject": {"big": "x" * 10_000}}},
            "syncPolicy": {"automated": {"enabled": False}, "syncOptions": ["A=b"]},
        },
        "operation": {"sync": {"revision": "6.2.0"}},
        "status": {"sync": {"status": "Synced"}},
    }
    trimmed = targets.observed_fields(obj)
    assert trimmed["spec"] == {"syncPolicy": {"automated": {"enabled": False}}}
    assert trimmed["operation"] == obj["operation"]
    assert trimmed["status"] == obj["status"]
